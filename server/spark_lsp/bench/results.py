"""Assembles the benchmark's JSON document from the recorded runs."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any

from spark_lsp.bench.compare import compare
from spark_lsp.bench.events import FileRun
from spark_lsp.bench.metrics import metrics
from spark_lsp.bench.targets import FLASK_FILE, evaluate
from spark_lsp.bench.trace import FilePlan

SCHEMA = "spark-lsp-bench/1"


def timeline(runs: Sequence[FileRun], prefer: str = FLASK_FILE) -> dict[str, Any] | None:
    """Per-keystroke events of one file's first region, times in seconds from its first key."""
    if not runs:
        return None
    run = next((r for r in runs if r.file == prefer), runs[0])
    events = [r for r in run.requests if r.region == 0]
    if not events:
        return None
    start = events[0].at
    return {
        "file": run.file,
        "region": 0,
        "events": [
            {
                "t": round(r.at - start, 4),
                "kind": r.kind,
                "version": r.version,
                "answeredMs": None if r.answered_at is None else round((r.answered_at - r.at) * 1000, 3),
                "outcome": r.outcome,
                "verdict": r.verdict,
                "accepted": r.accepted,
                "chars": len(r.text or ""),
            }
            for r in events
        ],
    }


def samples_ms(runs: Sequence[FileRun]) -> list[float]:
    """Keystroke-to-ghost-text samples of every shown suggestion (for plots)."""
    return [
        round((r.answered_at - r.at) * 1000, 3)
        for run in runs
        for r in run.requests
        if r.shown and r.answered_at is not None
    ]


def run_entry(runs: Sequence[FileRun], count_tokens: Callable[[str], int]) -> dict[str, Any]:
    """One label's overall metrics, per-file metrics, timeline and raw latency samples."""
    first = runs[0]
    files: dict[str, Any] = {}
    for run in runs:
        entry = metrics([run], count_tokens)
        entry["durationS"] = round(run.duration_s, 2)
        entry["regionsDetail"] = run.regions
        entry["messages"] = run.messages
        files[run.file] = entry
    return {
        "profile": first.profile,
        "mode": first.mode,
        "overall": metrics(runs, count_tokens),
        "files": files,
        "timeline": timeline(runs),
        "keystrokeToGhostTextMs": samples_ms(runs),
    }


def build_results(
    runs: Sequence[FileRun],
    plans: Sequence[FilePlan],
    options: dict[str, Any],
    memory: dict[str, Any] | None,
    duration_s: float,
    count_tokens: Callable[[str], int],
) -> dict[str, Any]:
    """The whole JSON document (see docs/performance.md for the schema)."""
    by_label: dict[str, list[FileRun]] = {}
    for run in runs:
        by_label.setdefault(run.label, []).append(run)
    entries = {name: run_entry(group, count_tokens) for name, group in by_label.items()}
    comparison = {
        entry["profile"]: compare(entry["overall"], entries[f"{entry['profile']} naive"]["overall"])
        for entry in entries.values()
        if entry["mode"] == "optimised" and f"{entry['profile']} naive" in entries
    }
    messages = sorted({m for run in runs for m in run.messages})
    return {
        "schema": SCHEMA,
        "createdAt": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "durationS": round(duration_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "options": options,
        "trace": [
            {
                "file": plan.source.name,
                "language": plan.source.language_id,
                "bytes": len(plan.source.text.encode("utf-8")),
                "regions": plan.describe(),
            }
            for plan in plans
        ],
        "runs": entries,
        "comparison": comparison or None,
        "memory": memory,
        "targets": evaluate(entries, memory),
        "serverMessages": messages,
        "errors": [f"[{run.label}] {run.file}: {error}" for run in runs for error in run.errors]
        + [f"[memory] {error}" for error in ((memory or {}).get("metrics") or {}).get("errors", [])],
    }
