"""Writes every run's raw events (requests, simulator records, server stats) for later digging."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

from spark_lsp.bench.events import FileRun


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def write_raw(runs: Sequence[FileRun], directory: Path) -> None:
    """One JSON file per run: `<label>--<file>.json`; times are `time.monotonic()` seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    for run in runs:
        data = dataclasses.asdict(run)
        path = directory / f"{_slug(run.label)}--{_slug(run.file)}.json"
        path.write_text(json.dumps(data, indent=None, default=str) + "\n", encoding="utf-8")
