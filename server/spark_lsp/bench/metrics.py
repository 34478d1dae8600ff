"""Turns recorded runs into the benchmark's metrics, for one file or pooled over many."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from spark_lsp.bench.attribution import (
    call_first_token_delays_ms,
    completion_records,
    first_token_delays_ms,
    outside_model_ms,
    sim_ttft_ms,
    upstream_outside_ms,
)
from spark_lsp.bench.events import FileRun, SentRequest

SERVER_SERIES = {
    "serverOverhead": "overhead",
    "serverTimeToFirstToken": "timeToFirstToken",
    "serverEndToEnd": "endToEnd",
    "serverUpstream": "upstream",
}


def percentile(samples: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the server's definition), or None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """Count and p50/p95/p99 in the shape `spark/stats` uses."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "count": len(samples),
        "p50": rounded(percentile(samples, 0.50)),
        "p95": rounded(percentile(samples, 0.95)),
        "p99": rounded(percentile(samples, 0.99)),
    }


def counter(stats: dict[str, Any] | None, name: str) -> int:
    """A `spark/stats` counter by dotted name (0 when never counted)."""
    node: Any = (stats or {}).get("counters", {})
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return 0
        node = node[part]
    return int(node) if isinstance(node, int | float) else 0


def upstream_calls(stats: dict[str, Any] | None) -> int:
    """Calls to every model tier (`upstream.<tier>.calls`), prefetches and hedges included."""
    tiers = (stats or {}).get("counters", {}).get("upstream", {})
    return sum(counter(stats, f"upstream.{tier}.calls") for tier in tiers) if isinstance(tiers, dict) else 0


def sum_counters(trees: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """Add nested counter trees key by key (so new server counters show up without code changes)."""
    total: dict[str, Any] = {}
    for tree in trees:
        for key, value in (tree or {}).items():
            if isinstance(value, dict):
                total[key] = sum_counters([total.get(key) or {}, value])
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


def server_series(stats: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """One `latencyMs.inline.<name>` summary from `spark/stats`."""
    series = (stats or {}).get("latencyMs", {}).get("inline", {}).get(name)
    return series if isinstance(series, dict) and series.get("count") else None


def pool_series(series: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Combine per-file server summaries: exact for one file, an approximation for several.

    The server only reports percentiles, which cannot be merged exactly: p50 and p95 are averaged
    weighted by sample count and p99 is the worst file's (an upper bound).
    """
    series = [s for s in series if s.get("count") and s.get("p50") is not None]
    if not series:
        return None
    if len(series) == 1:
        return dict(series[0])
    total = sum(int(s["count"]) for s in series)

    def weighted(key: str) -> float:
        return round(sum(float(s[key]) * int(s["count"]) for s in series) / total, 3)

    return {
        "count": total,
        "p50": weighted("p50"),
        "p95": weighted("p95"),
        "p99": max(float(s["p99"]) for s in series),
        "pooled": True,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _ms(requests: Iterable[SentRequest]) -> list[float]:
    return [(r.answered_at - r.at) * 1000.0 for r in requests if r.answered_at is not None]


def metrics(runs: Sequence[FileRun], count_tokens: Callable[[str], int]) -> dict[str, Any]:
    """All metrics for `runs` pooled (one file, or every file of one profile and mode)."""
    requests = [r for run in runs for r in run.requests]
    probes = [r for run in runs for r in run.probes if r.kind == "probe"]
    echoes = [r for run in runs for r in run.probes if r.kind == "echo"]
    effort = sum(run.effort for run in runs)
    typed = sum(run.typed for run in runs)
    accepted = sum(run.accepted for run in runs)
    simulated = all(run.sim_records is not None for run in runs)
    records = [r for run in runs for r in completion_records(run.sim_records or [])]
    probe_records = [r for run in runs for r in completion_records(run.probe_records or [])]
    stats = [run.server_stats for run in runs]

    shown = [r for r in requests if r.shown]
    verdicts = [r.verdict for r in shown]
    outcomes = [r.outcome for r in requests]
    inline_requests = sum(counter(s, "inline.requests") for s in stats)
    if simulated:
        upstream = len(records)
        connections = sum(
            len({r["client"] for r in completion_records(run.sim_records or [])}) for run in runs
        )
    else:
        upstream = sum(upstream_calls(s) for s in stats)
        connections = None

    first_token = call_first_token_delays_ms(requests, records) if simulated else None
    answered = first_token_delays_ms(requests, records) if simulated else None
    latency: dict[str, Any] = {
        "keystrokeToGhostText": summary(_ms(shown)),
        "keystrokeToFirstToken": None if first_token is None else summary(first_token),
        "keystrokeToFirstTokenAnswered": None if answered is None else summary(answered),
        "simTtft": summary(sim_ttft_ms(records)) if simulated else summary([]),
        "probeRoundTrip": summary(_ms(p for p in probes if p.outcome in ("suggestion", "empty"))),
        "lspRoundTrip": summary(_ms(p for p in echoes if p.outcome in ("suggestion", "empty"))),
        "outsideModelClient": summary(outside_model_ms(probes, probe_records)) if simulated else None,
    }
    for key, name in SERVER_SERIES.items():
        latency[key] = pool_series([s for s in (server_series(st, name) for st in stats) if s])
    calls = [call for s in stats if s for call in s.get("recentUpstreamCalls") or []]
    latency["outsideModelUpstream"] = summary(upstream_outside_ms(calls, records)) if simulated else None

    generated = sum(int(r.get("tokens_sent") or 0) for r in records) if simulated else None
    shown_tokens = sum(count_tokens(r.text or "") for r in shown)
    return {
        "files": len(runs),
        "regions": sum(len(run.regions) for run in runs),
        "chars": {
            "region": effort,
            "typed": typed,
            "accepted": accepted,
            "autoIndent": sum(run.auto_indent for run in runs),
        },
        "keystrokesSaved": _share(accepted, effort),
        "keys": {"typed": typed, "tab": sum(run.tabs for run in runs)},
        "requests": {
            "sent": len(requests),
            "suggestion": outcomes.count("suggestion"),
            "empty": outcomes.count("empty"),
            "cancelled": outcomes.count("cancelled"),
            "error": outcomes.count("error"),
            "unanswered": outcomes.count("unanswered") + outcomes.count("pending"),
            "answeredAfterCancel": sum(1 for r in requests if r.answered_after_cancel),
            # Cancelled requests included: how long the server took to answer at worst.
            "slowestAnswerMs": max((round(ms, 1) for ms in _ms(requests)), default=None),
        },
        "upstream": {
            "requests": upstream,
            "per100Typed": round(upstream * 100 / typed, 2) if typed else None,
            "per100RegionChars": round(upstream * 100 / effort, 2) if effort else None,
            "connections": connections,
            "source": "sim" if simulated else "server counters",
            "outcomes": _record_outcomes(records) if simulated else None,
        },
        "latencyMs": latency,
        "cacheHitRate": _share(sum(counter(s, "inline.cacheHits") for s in stats), inline_requests),
        "serverCounters": sum_counters((st or {}).get("counters") for st in stats),
        "shown": {
            "total": len(shown),
            "correct": verdicts.count("correct"),
            "wrong": verdicts.count("wrong"),
            "stale": verdicts.count("stale"),
            "accepted": sum(1 for r in shown if r.accepted),
            "wrongShare": _share(verdicts.count("wrong"), len(shown)),
            "staleShare": _share(verdicts.count("stale"), len(shown)),
        },
        "tokens": {
            "generated": generated,
            "shown": shown_tokens,
            "accepted": sum(count_tokens(r.text or "") for r in shown if r.accepted),
            "generatedPerShown": round(generated / shown_tokens, 2) if generated and shown_tokens else None,
        },
        "errors": [f"{run.file}: {error}" for run in runs for error in run.errors],
    }


def _record_outcomes(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for record in records:
        outcome = str(record.get("outcome"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
