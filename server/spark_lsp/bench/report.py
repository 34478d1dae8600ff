"""Formats the results as plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from spark_lsp.bench.compare import dig

Getter = Callable[[dict[str, Any]], str]


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _ms(path: tuple[str, ...], digits: int = 1) -> Getter:
    return lambda m: _num(dig(m, path), digits)


def _pair(first: Getter, second: Getter) -> Getter:
    return lambda m: f"{first(m)} / {second(m)}"


ROWS: tuple[tuple[str, Getter], ...] = (
    ("keystrokes saved", lambda m: _pct(m.get("keystrokesSaved"))),
    ("chars typed / accepted / region", lambda m: "{typed} / {accepted} / {region}".format(**m["chars"])),
    ("upstream requests / 100 typed", _ms(("upstream", "per100Typed"), 1)),
    (
        "upstream requests / connections",
        _pair(_ms(("upstream", "requests")), _ms(("upstream", "connections"))),
    ),
    (
        "key->ghost text ms p50/p95/p99",
        lambda m: " / ".join(
            _num(dig(m, ("latencyMs", "keystrokeToGhostText", p)), 0) for p in ("p50", "p95", "p99")
        ),
    ),
    (
        "key->first token ms p50/p95",
        _pair(
            _ms(("latencyMs", "keystrokeToFirstToken", "p50"), 0),
            _ms(("latencyMs", "keystrokeToFirstToken", "p95"), 0),
        ),
    ),
    (
        "server overhead ms p50/p99",
        _pair(_ms(("latencyMs", "serverOverhead", "p50"), 2), _ms(("latencyMs", "serverOverhead", "p99"), 2)),
    ),
    (
        "TTFT ms server / sim (p50)",
        _pair(_ms(("latencyMs", "serverTimeToFirstToken", "p50")), _ms(("latencyMs", "simTtft", "p50"))),
    ),
    (
        "outside model ms upstream / client",
        _pair(
            _ms(("latencyMs", "outsideModelUpstream", "p50"), 2),
            _ms(("latencyMs", "outsideModelClient", "p50"), 2),
        ),
    ),
    (
        "probe round-trip ms / LSP floor (p50)",
        _pair(_ms(("latencyMs", "probeRoundTrip", "p50"), 2), _ms(("latencyMs", "lspRoundTrip", "p50"), 2)),
    ),
    ("cache hit rate", lambda m: _pct(m.get("cacheHitRate"))),
    (
        "shown: total / wrong / stale",
        lambda m: "{total} / {wrong} / {stale}".format(**m["shown"]),
    ),
    (
        "tokens generated / shown / accepted",
        lambda m: "{} / {} / {}".format(*(_num(m["tokens"][k]) for k in ("generated", "shown", "accepted"))),
    ),
    (
        "requests sent / cancelled / unanswered",
        lambda m: "{sent} / {cancelled} / {unanswered}".format(**m["requests"]),
    ),
)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A left-aligned text table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def overall_table(runs: dict[str, Any]) -> str:
    """Metrics by run (profile and mode), pooled over files."""
    labels = list(runs)
    rows = [[name, *(get(runs[label]["overall"]) for label in labels)] for name, get in ROWS]
    return table(["metric", *labels], rows)


def files_table(runs: dict[str, Any]) -> str:
    """The main metrics per file and run."""
    header = ["run", "file", "saved", "req/100", "ghost p50", "overhead p50/p99", "wrong/stale", "errors"]
    rows = []
    for label, run in runs.items():
        for name, m in run["files"].items():
            rows.append(
                [
                    label,
                    name,
                    _pct(m.get("keystrokesSaved")),
                    _num(dig(m, ("upstream", "per100Typed"))),
                    _num(dig(m, ("latencyMs", "keystrokeToGhostText", "p50")), 0),
                    _pair(
                        _ms(("latencyMs", "serverOverhead", "p50"), 2),
                        _ms(("latencyMs", "serverOverhead", "p99"), 2),
                    )(m),
                    f"{m['shown']['wrong']}/{m['shown']['stale']}",
                    str(len(m["errors"])),
                ]
            )
    return table(header, rows)


def comparison_table(profile: str, rows: Sequence[dict[str, Any]]) -> str:
    """Optimised vs naive for one profile."""
    body = [
        [row["metric"], _num(row["optimised"], 2), _num(row["naive"], 2), _num(row["ratio"], 3)]
        for row in rows
    ]
    return table([f"{profile}: metric", "optimised", "naive", "optimised/naive"], body)


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    """Each target with its value and verdict."""
    marks = {True: "met", False: "MISSED", None: "not measured"}
    body = [[marks[t["met"]], t["target"], _num(t["value"], 3), t.get("detail", "")] for t in targets]
    return table(["verdict", "target", "value", ""], body)


def render(results: dict[str, Any]) -> str:
    """Every table of the report."""
    parts = []
    if results["runs"]:
        parts += [overall_table(results["runs"]), files_table(results["runs"])]
    for profile, rows in (results.get("comparison") or {}).items():
        parts.append(comparison_table(profile, rows))
    memory = results.get("memory")
    if memory:
        parts.append(
            "memory: {keystrokes} keystrokes, RSS {rssAfter1kMb} MB after 1k, {rssEndMb} MB at the end "
            "(growth {rssGrowthMb} MB)".format(**memory)
        )
    if results["targets"]:
        parts.append(targets_table(results["targets"]))
    if results["errors"]:
        parts.append("errors:\n" + "\n".join(f"  {error}" for error in results["errors"]))
    return "\n\n".join(parts)
