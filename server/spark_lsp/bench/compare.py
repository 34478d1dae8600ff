"""Side-by-side comparison of the optimised server with its naive baseline on the same trace."""

from __future__ import annotations

from typing import Any

# (row name, path into the metrics, True when lower is better)
ROWS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    (
        "outside-model ms/upstream call (exact, to first token, p50)",
        ("latencyMs", "outsideModelUpstream", "p50"),
        True,
    ),
    ("outside-model ms/round-trip (client probes, p50)", ("latencyMs", "outsideModelClient", "p50"), True),
    (
        "LSP round-trip floor ms p50 (request for an unopened file)",
        ("latencyMs", "lspRoundTrip", "p50"),
        True,
    ),
    ("keystroke-to-first-token ms p50", ("latencyMs", "keystrokeToFirstToken", "p50"), True),
    ("keystroke-to-first-token ms p95", ("latencyMs", "keystrokeToFirstToken", "p95"), True),
    (
        "keystroke-to-first-token ms p50 (answered requests)",
        ("latencyMs", "keystrokeToFirstTokenAnswered", "p50"),
        True,
    ),
    ("keystroke-to-ghost-text ms p50", ("latencyMs", "keystrokeToGhostText", "p50"), True),
    ("server overhead ms p50", ("latencyMs", "serverOverhead", "p50"), True),
    ("server time-to-first-token ms p50", ("latencyMs", "serverTimeToFirstToken", "p50"), True),
    ("upstream requests", ("upstream", "requests"), True),
    ("upstream requests / 100 typed chars", ("upstream", "per100Typed"), True),
    ("upstream connections", ("upstream", "connections"), True),
    ("tokens generated", ("tokens", "generated"), True),
    ("keystrokes saved", ("keystrokesSaved",), False),
)


def dig(data: Any, path: tuple[str, ...]) -> Any:
    """`data[path[0]][path[1]]...`, or None when any step is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def compare(optimised: dict[str, Any], naive: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric: both values and `ratio` = optimised / naive (below 1 = optimised is lower)."""
    rows = []
    for name, path, lower_is_better in ROWS:
        ours, theirs = dig(optimised, path), dig(naive, path)
        ratio = None
        if isinstance(ours, int | float) and isinstance(theirs, int | float) and theirs:
            ratio = round(ours / theirs, 4)
        rows.append(
            {
                "metric": name,
                "optimised": ours,
                "naive": theirs,
                "ratio": ratio,
                "lowerIsBetter": lower_is_better,
            }
        )
    return rows
