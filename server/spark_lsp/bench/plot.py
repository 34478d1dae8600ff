"""Draws the benchmark's PNG: latency distributions per run and a per-keystroke timeline of one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VERDICT_COLOURS = {"correct": "tab:green", "wrong": "tab:red", "stale": "tab:orange", None: "tab:gray"}


def _cdf(axes: Any, runs: dict[str, Any]) -> None:
    for label, run in runs.items():
        samples = sorted(run.get("keystrokeToGhostTextMs") or [])
        if not samples:
            continue
        fractions = [(i + 1) / len(samples) for i in range(len(samples))]
        axes.step(samples, fractions, where="post", label=f"{label} (n={len(samples)})")
    axes.set_xscale("log")
    axes.set_xlabel("keystroke to ghost text (ms, log scale)")
    axes.set_ylabel("fraction of shown suggestions")
    axes.set_title("Keystroke-to-ghost-text CDF")
    axes.grid(True, which="both", alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")


def _histogram(axes: Any, runs: dict[str, Any]) -> None:
    every = [s for run in runs.values() for s in run.get("keystrokeToGhostTextMs") or [] if s > 0]
    if not every:
        axes.set_title("no suggestions were shown")
        return
    low, high = max(0.1, min(every)), max(every)
    bins = [low * (high / low) ** (i / 30) for i in range(31)] if high > low else 10
    for label, run in runs.items():
        samples = [s for s in run.get("keystrokeToGhostTextMs") or [] if s > 0]
        if samples:
            axes.hist(samples, bins=bins, histtype="step", label=label)
    axes.set_xscale("log")
    axes.set_xlabel("keystroke to ghost text (ms, log scale)")
    axes.set_ylabel("suggestions")
    axes.set_title("Keystroke-to-ghost-text histogram")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")


def _timeline(axes: Any, runs: dict[str, Any]) -> None:
    rows: list[str] = []
    for label, run in list(runs.items())[:4]:
        line = run.get("timeline")
        if not line:
            continue
        base = len(rows)
        rows += [f"{label}: keys", f"{label}: shown", f"{label}: accepted"]
        keys = [e for e in line["events"] if e["kind"] == "type"]
        tabs = [e for e in line["events"] if e["kind"] == "accept"]
        axes.scatter([e["t"] for e in keys], [base] * len(keys), marker="|", color="black", s=40)
        axes.scatter([e["t"] for e in tabs], [base] * len(tabs), marker="^", color="tab:green", s=30)
        for event in line["events"]:
            if event["outcome"] != "suggestion" or event["answeredMs"] is None:
                continue
            shown_at = event["t"] + event["answeredMs"] / 1000.0
            colour = VERDICT_COLOURS.get(event["verdict"], "tab:gray")
            axes.plot([event["t"], shown_at], [base, base + 1], color=colour, alpha=0.4, linewidth=0.8)
            axes.scatter([shown_at], [base + 1], color=colour, s=14)
            if event["accepted"]:
                axes.scatter([shown_at], [base + 2], marker="*", color="tab:green", s=50)
    if not rows:
        axes.set_title("no timeline recorded")
        return
    axes.set_yticks(range(len(rows)), rows, fontsize="small")
    axes.set_xlabel("seconds from the first key of the region")
    first = next(iter(runs.values())).get("timeline") or {}
    axes.set_title(
        f"Timeline of {first.get('file', '?')} (region 1): keys (| typed, ^ Tab), "
        "request-to-suggestion lines (green correct, red wrong, orange stale), * accepted"
    )
    axes.grid(True, axis="x", alpha=0.3)


def draw(results: dict[str, Any], path: Path) -> None:
    """Write the PNG (matplotlib's Agg canvas: no display needed)."""
    from matplotlib.figure import Figure

    runs = results.get("runs") or {}
    figure = Figure(figsize=(15, 11), layout="constrained")
    grid = figure.add_gridspec(2, 2, height_ratios=[1, 1.3])
    _cdf(figure.add_subplot(grid[0, 0]), runs)
    _histogram(figure.add_subplot(grid[0, 1]), runs)
    _timeline(figure.add_subplot(grid[1, :]), runs)
    figure.suptitle("spark-lsp typing replay")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
