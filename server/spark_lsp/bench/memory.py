"""The `--keystrokes N` mode: many regions back to back into one server, sampling its resident memory."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from spark_lsp.bench.events import FileRun
from spark_lsp.bench.lsp_client import BenchClient, ServerGone
from spark_lsp.bench.metrics import metrics
from spark_lsp.bench.replay import Replayer
from spark_lsp.bench.runner import MODES, RunSettings, server_env, wait_ready
from spark_lsp.bench.sim_runner import SimRunner
from spark_lsp.bench.trace import FilePlan
from spark_lsp.bench.user import RegionProgress

FIRST_SAMPLE_AT = 1000
SAMPLE_EVERY = 2000
MIB = 1024 * 1024


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB."""
    return round(float(psutil.Process(pid).memory_info().rss) / MIB, 2)


def _log_problems(path: Path) -> list[str]:
    """Unhandled exceptions and errors the server logged (what a soak must not produce)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line[:300] for line in text.splitlines() if "Traceback" in line or " ERROR " in line]


async def run_memory(
    plans: Sequence[FilePlan],
    profile: str,
    keystrokes: int,
    sim: SimRunner | None,
    settings: RunSettings,
    count_tokens: Callable[[str], int],
    gpu: SimRunner | None = None,
) -> tuple[dict[str, Any], FileRun]:
    """Type regions (cycling through `plans`) until `keystrokes` keys; RSS after 1k keys and at the end.

    With `gpu` (the soak), the fast simulator injects faults and the server falls back to the GPU
    tier; open file descriptors and asyncio tasks are sampled with RSS, and the server's log is
    checked for unhandled exceptions. Returns the report and the run itself (for the raw event dump).
    """
    run = FileRun(f"{profile} memory", profile, "optimised", "(all files)")
    run.started_at = time.monotonic()
    samples: list[tuple[int, float]] = []
    records: list[dict[str, Any]] = []
    end_rss: float | None = None
    client: BenchClient | None = None
    resources: list[dict[str, Any]] = []
    log_path = settings.log_dir / f"server-{profile}-{'soak' if gpu else 'memory'}.log"
    try:
        client = await BenchClient.start(
            server_env(sim, gpu), MODES["fallback" if gpu else "optimised"], log_path
        )
        await wait_ready(client)
        if sim is not None:
            await sim.take_records()
        replayer = Replayer(client, settings.timing, run.requests)
        pid = client.pid

        def on_key(count: int) -> None:
            if count == FIRST_SAMPLE_AT or count % SAMPLE_EVERY == 0:
                samples.append((count, rss_mb(pid)))

        replayer.on_key = on_key
        work = [(plan, i) for plan in plans for i in range(len(plan.regions))]
        for plan, index in itertools.cycle(work):
            if replayer.keys >= keystrokes:
                break
            source, region = plan.source, plan.regions[index]
            progress = RegionProgress(region.text(source.text))
            try:
                await replayer.type_region(
                    f"file:///bench/memory/{source.name}",
                    source.language_id,
                    source.text[: region.start],
                    source.text[region.end :],
                    progress,
                    plan.intervals[index],
                    index,
                )
            finally:
                run.count(progress)
            if sim is not None:
                # Keep the simulator's log short; prompts are dropped, counts are what we need.
                records += [{k: v for k, v in r.items() if k != "prompt"} for r in await sim.take_records()]
            if gpu is not None:
                await gpu.take_records()
                process = (await client.stats()).get("process", {})
                resources.append({"keystrokes": replayer.keys, "rssMb": rss_mb(pid), **process})
        run.errors += replayer.problems
        await asyncio.sleep(1.0)
        end_rss = rss_mb(pid)
        run.server_stats = await client.stats()
    except ServerGone as error:
        run.errors.append(str(error))
    finally:
        if client is not None:
            await client.shutdown()
    run.sim_records = records if sim is not None else None
    run.duration_s = time.monotonic() - run.started_at
    first = next((rss for count, rss in samples if count == FIRST_SAMPLE_AT), None)
    if gpu is not None:
        problems = _log_problems(log_path)
        run.errors += [f"server log: {line}" for line in problems]
    report = {
        "profile": profile,
        "keystrokes": sum(1 for r in run.requests),
        "speed": settings.timing.speed,
        "durationS": round(run.duration_s, 1),
        "rssAfter1kMb": first,
        "rssEndMb": end_rss,
        "rssGrowthMb": None if first is None or end_rss is None else round(end_rss - first, 2),
        "samples": [{"keystrokes": count, "rssMb": rss} for count, rss in samples],
        "soak": None
        if gpu is None
        else {
            "resources": resources,
            "logProblems": _log_problems(log_path),
            "errors": list(run.errors),
        },
        "metrics": metrics([run], count_tokens),
    }
    return report, run
