"""Joins the editor's requests with the simulator's records through the clock both processes share."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any

from spark_lsp.bench.events import SentRequest


def completion_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the generation requests (not `GET /v1/models`)."""
    return [record for record in records if "completions" in str(record.get("path", ""))]


# `time.monotonic()` reads the same system-wide clock in every process on Linux, macOS and Windows, so
# a record's `started_at` and `first_token_at` compare directly with the editor's own timestamps.


class RecordIndex:
    """Simulator records sorted by arrival, to find the upstream call that served an editor request."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        ordered = sorted(completion_records(records), key=lambda record: float(record["started_at"]))
        self._records: list[dict[str, Any]] = ordered
        self._starts = [float(record["started_at"]) for record in self._records]

    def serving(self, request: SentRequest) -> dict[str, Any] | None:
        """The latest record that started while `request` was open and produced a token before its answer.

        Picking the latest skips a speculative call started just before the request, when the request
        made its own; when it made none (it was answered from a prefetch), the prefetch is what served it.
        """
        if request.answered_at is None:
            return None
        low = bisect.bisect_left(self._starts, request.at)
        high = bisect.bisect_right(self._starts, request.answered_at)
        candidates: list[dict[str, Any]] = self._records[low:high]
        return next(
            (
                record
                for record in reversed(candidates)
                if record.get("first_token_at") is not None
                and float(record["first_token_at"]) <= request.answered_at
            ),
            None,
        )


def _answered(requests: Iterable[SentRequest]) -> Iterable[SentRequest]:
    return (r for r in requests if r.outcome in ("suggestion", "empty") and r.answered_at is not None)


def first_token_delays_ms(requests: Sequence[SentRequest], records: Iterable[dict[str, Any]]) -> list[float]:
    """For each answered request that reached the model: key press to the model's first token, in ms."""
    index = RecordIndex(records)
    delays = []
    for request in _answered(requests):
        record = index.serving(request)
        if record is not None:
            delays.append((float(record["first_token_at"]) - request.at) * 1000.0)
    return delays


def call_first_token_delays_ms(
    requests: Sequence[SentRequest], records: Iterable[dict[str, Any]]
) -> list[float]:
    """For every upstream call a keystroke's request made: key press to the model's first token, in ms.

    A call belongs to the latest request sent before it started, if that request was still open (not
    yet answered or cancelled); calls started after that (prefetches) belong to no keystroke. Calls of
    cancelled requests count too: the metric is how soon the model starts after a key, shown or not.
    """
    typed = sorted((r for r in requests if r.kind != "probe"), key=lambda r: r.at)
    times = [r.at for r in typed]
    delays = []
    for record in completion_records(records):
        first = record.get("first_token_at")
        index = bisect.bisect_right(times, float(record["started_at"])) - 1
        if first is None or index < 0:
            continue
        request = typed[index]
        if request.answered_at is not None and float(record["started_at"]) > request.answered_at:
            continue
        delays.append((float(first) - request.at) * 1000.0)
    return delays


def model_ttft_s(record: dict[str, Any]) -> float:
    """The simulated model's own time to first token in a record that has one: handler start to token."""
    return float(record["first_token_at"]) - float(record["started_at"])


def sim_ttft_ms(records: Iterable[dict[str, Any]]) -> list[float]:
    """The simulated model's own time to first token for each record that produced one."""
    return [
        model_ttft_s(r) * 1000.0 for r in completion_records(records) if r.get("first_token_at") is not None
    ]


def outside_model_ms(probes: Sequence[SentRequest], records: Iterable[dict[str, Any]]) -> list[float]:
    """Client-side time per round-trip spent outside the model, from probe requests.

    Probes are invoked requests (no debounce) at the end of a file, where the perfect model has nothing
    to add: the round-trip is LSP transport, server work, the connection and HTTP exchange, and the
    model's time to first token. Subtracting the model's own time (from the simulator) leaves the rest.
    """
    index = RecordIndex(records)
    outside = []
    for probe in _answered(probes):
        record = index.serving(probe)
        if record is None or probe.answered_at is None:
            continue
        ended = record.get("generation_ended_at") or record.get("ended_at") or record["first_token_at"]
        model_s = min(float(ended), probe.answered_at) - float(record["started_at"])
        outside.append(((probe.answered_at - probe.at) - model_s) * 1000.0)
    return outside


def upstream_outside_ms(calls: Iterable[dict[str, Any]], records: Iterable[dict[str, Any]]) -> list[float]:
    """Per upstream call, exactly: the server's wait for the first token minus the model's own.

    `calls` are the server's `recentUpstreamCalls` (its monotonic send and first-token times, and the
    provider's `x-request-id`); the simulator's record with that id says when its handler started
    and when the model produced the first token. The difference is the request's way there (building
    it, connection set-up if any, TLS and HTTP/2 on both ends) and the first token's way back.
    """
    by_id = {record.get("id"): record for record in completion_records(records)}
    outside = []
    for call in calls:
        record = by_id.get(call.get("id"))
        if record is None or call.get("firstTokenAt") is None or record.get("first_token_at") is None:
            continue
        ours = float(call["firstTokenAt"]) - float(call["startedAt"])
        outside.append((ours - model_ttft_s(record)) * 1000.0)
    return outside
