"""Metrics aggregation of the typing replay: per file, pooled, compared with the naive baseline."""

from __future__ import annotations

from typing import Any

import pytest

from spark_lsp.bench.attribution import (
    call_first_token_delays_ms,
    first_token_delays_ms,
    outside_model_ms,
)
from spark_lsp.bench.compare import compare
from spark_lsp.bench.events import FileRun, SentRequest
from spark_lsp.bench.metrics import metrics, percentile, pool_series, summary
from spark_lsp.bench.targets import evaluate


def _tokens(text: str) -> int:
    return len(text.split())


def _request(
    at: float, answered: float | None, outcome: str, text: str | None = None, **kw: Any
) -> SentRequest:
    request = SentRequest(f"id-{at}", kw.pop("kind", "type"), at, 1, 0, 0)
    request.answered_at, request.outcome, request.text = answered, outcome, text  # type: ignore[assignment]
    for key, value in kw.items():
        setattr(request, key, value)
    return request


def _record(
    start: float, first: float | None, end: float, tokens: int, client: str = "c1", id: str = ""
) -> dict[str, Any]:
    return {
        "id": id or f"sim-{start}",
        "path": "/v1/completions",
        "client": client,
        "started_at": start,
        "first_token_at": first,
        "generation_ended_at": end,
        "tokens_sent": tokens,
        "outcome": "client_disconnected",
    }


def _stats(p50: float, p99: float, count: int, hits: int, requests: int) -> dict[str, Any]:
    series = {"count": count, "p50": p50, "p95": p99, "p99": p99}
    return {
        "counters": {"inline": {"requests": requests, "cacheHits": hits}, "upstream": {"fast": {"calls": 2}}},
        "latencyMs": {"inline": {"overhead": series, "timeToFirstToken": {**series, "p50": 70.0}}},
    }


def _run(file: str = "a.py") -> FileRun:
    run = FileRun("spark", "spark", "optimised", file, regions=[{"firstLine": 1}])
    run.effort, run.typed, run.accepted, run.auto_indent, run.tabs = 100, 40, 60, 12, 3
    run.requests = [
        _request(10.0, 10.1, "cancelled"),
        _request(10.2, 10.45, "suggestion", "a b c", verdict="correct", accepted=True),
        _request(11.0, 11.005, "suggestion", "x y", verdict="wrong"),
        _request(12.0, 12.3, "empty"),
        _request(13.0, None, "unanswered"),
    ]
    run.sim_records = [
        {"path": "/v1/models", "client": "c1", "started_at": 9.0},
        _record(10.05, 10.09, 10.2, 30),  # served the cancelled request: not counted for first token
        _record(10.3, 10.36, 10.5, 40, id="r2"),
        _record(12.1, 12.17, 12.25, 10, client="c2", id="r3"),
    ]
    run.probes = [_request(20.0, 20.07, "empty", kind="probe"), _request(21.0, 21.08, "empty", kind="probe")]
    run.probe_records = [_record(20.002, 20.062, 20.063, 0), _record(21.003, 21.073, 21.074, 0)]
    run.server_stats = _stats(0.5, 2.0, 4, hits=1, requests=4)
    run.server_stats["recentUpstreamCalls"] = [
        {"id": "r2", "startedAt": 10.297, "firstTokenAt": 10.364, "endedAt": 10.5},  # 67 - 60 = 7 ms
        {"id": "r3", "startedAt": 12.098, "firstTokenAt": 12.175, "endedAt": 12.3},  # 77 - 70 = 7 ms
        {"id": "unknown", "startedAt": 30.0, "firstTokenAt": 30.1, "endedAt": 30.2},
        {"id": "r3-no-token", "startedAt": 12.0, "firstTokenAt": None, "endedAt": 12.3},
    ]
    return run


def test_percentiles_use_the_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0 and percentile(samples, 0.99) == 99.0
    assert percentile([], 0.5) is None
    assert summary([3.0, 1.0, 2.0]) == {"count": 3, "p50": 2.0, "p95": 3.0, "p99": 3.0}


def test_one_file() -> None:
    m = metrics([_run()], _tokens)
    assert m["keystrokesSaved"] == 0.6
    assert m["chars"] == {"region": 100, "typed": 40, "accepted": 60, "autoIndent": 12}
    assert m["upstream"]["requests"] == 3  # /v1/models is not a generation request
    assert m["upstream"]["per100Typed"] == 7.5
    assert m["upstream"]["connections"] == 2
    assert m["requests"]["sent"] == 5 and m["requests"]["unanswered"] == 1
    assert m["latencyMs"]["keystrokeToGhostText"]["p50"] == pytest.approx(5.0)
    assert m["latencyMs"]["keystrokeToGhostText"]["p99"] == pytest.approx(250.0)
    # Every call a keystroke made: 10.0 -> 10.09 (its request was cancelled later), 10.2 -> 10.36 and
    # 12.0 -> 12.17; only answered requests: the last two.
    assert m["latencyMs"]["keystrokeToFirstToken"]["count"] == 3
    assert m["latencyMs"]["keystrokeToFirstToken"]["p50"] == pytest.approx(160.0)
    assert m["latencyMs"]["keystrokeToFirstTokenAnswered"]["count"] == 2
    assert m["latencyMs"]["keystrokeToFirstTokenAnswered"]["p99"] == pytest.approx(170.0)
    assert m["shown"] == {
        "total": 2,
        "correct": 1,
        "wrong": 1,
        "stale": 0,
        "accepted": 1,
        "wrongShare": 0.5,
        "staleShare": 0.0,
    }
    assert m["tokens"] == {"generated": 80, "shown": 5, "accepted": 3, "generatedPerShown": 16.0}
    assert m["cacheHitRate"] == 0.25
    assert m["latencyMs"]["serverOverhead"]["p50"] == 0.5
    # Probes: 70 ms round trip - 61 ms model = 9 ms; 80 - 71 = 9 ms.
    assert m["latencyMs"]["outsideModelClient"]["p50"] == pytest.approx(9.0)
    # Upstream calls joined by request id: the server's wait for the first token minus the model's.
    assert m["latencyMs"]["outsideModelUpstream"]["count"] == 2
    assert m["latencyMs"]["outsideModelUpstream"]["p50"] == pytest.approx(7.0)


def test_pooled_runs_add_counts_and_approximate_server_percentiles() -> None:
    first, second = _run("a.py"), _run("b.py")
    second.server_stats = _stats(1.5, 9.0, 12, hits=0, requests=12)
    m = metrics([first, second], _tokens)
    assert m["files"] == 2 and m["chars"]["region"] == 200
    assert m["upstream"]["requests"] == 6 and m["upstream"]["connections"] == 4
    assert m["cacheHitRate"] == pytest.approx(1 / 16)
    overhead = m["latencyMs"]["serverOverhead"]
    assert overhead["count"] == 16 and overhead["p50"] == pytest.approx(1.25) and overhead["p99"] == 9.0
    assert pool_series([]) is None


def test_live_runs_count_upstream_calls_from_the_server() -> None:
    run = _run()
    run.sim_records = run.probe_records = None
    m = metrics([run], _tokens)
    assert m["upstream"]["requests"] == 2 and m["upstream"]["source"] == "server counters"
    assert m["latencyMs"]["keystrokeToFirstToken"] is None and m["tokens"]["generated"] is None


def test_calls_started_after_their_request_closed_are_prefetches() -> None:
    answered = _request(1.0, 1.2, "suggestion", "x")
    records = [_record(1.05, 1.15, 1.2, 1), _record(1.21, 1.3, 1.4, 1), _record(0.5, 0.6, 0.7, 1)]
    assert call_first_token_delays_ms([answered], records) == [pytest.approx(150.0)]


def test_attribution_picks_the_latest_record_with_a_token_inside_the_request() -> None:
    request = _request(1.0, 1.5, "suggestion", "x")
    records = [_record(0.9, 0.95, 1.0, 1), _record(1.1, 1.2, 1.3, 1), _record(1.3, 1.45, 1.5, 1)]
    assert first_token_delays_ms([request], records) == [pytest.approx(450.0)]
    assert first_token_delays_ms([request], records[:1]) == []
    assert outside_model_ms([request], [_record(1.1, 1.2, 1.3, 1)]) == [pytest.approx(300.0)]


def test_comparison_and_targets() -> None:
    ours = metrics([_run()], _tokens)
    naive_run = _run()
    naive_run.label, naive_run.mode = "spark naive", "naive"
    naive_run.sim_records = (naive_run.sim_records or []) * 10
    naive = metrics([naive_run], _tokens)
    rows = {row["metric"]: row for row in compare(ours, naive)}
    assert rows["upstream requests"]["ratio"] == pytest.approx(0.1)
    assert rows["keystrokes saved"]["ratio"] == 1.0
    runs = {
        "spark": {"profile": "spark", "mode": "optimised", "overall": ours, "files": {"flask_app.py": ours}},
        "spark naive": {"profile": "spark", "mode": "naive", "overall": naive, "files": {}},
    }
    verdicts = {t["target"]: t["met"] for t in evaluate(runs, {"keystrokes": 20000, "rssGrowthMb": 31.0})}
    assert verdicts["[spark] server overhead p50 <= 1 ms on flask_app.py"] is True
    assert verdicts["[spark] >= 5x fewer upstream requests"] is True
    assert verdicts["[spark] keystrokes saved >= naive's"] is True
    assert verdicts["[spark] zero wrong or stale suggestions shown"] is False
    assert verdicts["RSS after 20000 keystrokes within 30 MB of after 1k"] is False
