"""The deterministic trace: which regions of which files are retyped, and the wait before every key."""

from __future__ import annotations

import random
from dataclasses import dataclass

from spark_lsp.bench.corpus import SourceFile
from spark_lsp.bench.intervals import key_intervals
from spark_lsp.bench.regions import Region, pick_regions


@dataclass(frozen=True)
class TraceSettings:
    """How much of each file to retype and how fast."""

    seed: int = 7
    regions_per_file: int = 1
    max_lines: int = 40
    max_chars: int = 300
    speed: float = 1.0
    # Fill files with too few function bodies with plain line windows.
    windows: bool = True


@dataclass(frozen=True)
class FilePlan:
    """One file's regions and, for each region, the interval before each of its characters."""

    source: SourceFile
    regions: tuple[Region, ...]
    intervals: tuple[tuple[float, ...], ...]

    def describe(self) -> list[dict[str, object]]:
        """JSON-ready region descriptions (1-based lines)."""
        return [
            {
                "firstLine": region.first_line + 1,
                "lines": region.line_count,
                "chars": region.end - region.start,
                "kind": region.kind,
            }
            for region in self.regions
        ]


def plan_file(source: SourceFile, settings: TraceSettings) -> FilePlan:
    """Pick regions and draw key intervals; the same settings always give the same plan."""
    # String seeds hash with SHA-512 inside `random`, so plans do not depend on PYTHONHASHSEED.
    rng = random.Random(f"{settings.seed}:{source.name}:regions")
    regions = pick_regions(
        source.text,
        source.language_id,
        rng,
        settings.regions_per_file,
        max_lines=settings.max_lines,
        max_chars=settings.max_chars,
        windows=settings.windows,
    )
    intervals = tuple(
        tuple(
            key_intervals(
                region.text(source.text),
                random.Random(f"{settings.seed}:{source.name}:{i}:keys"),
                settings.speed,
            )
        )
        for i, region in enumerate(regions)
    )
    return FilePlan(source, tuple(regions), intervals)
