"""Per-request records and totals that tests read back through ``/sim/requests`` and ``/sim/stats``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["in_progress", "completed", "client_disconnected", "fault", "error"]


@dataclass
class RequestRecord:
    """What happened to one ``/v1`` request; times are ``time.monotonic()`` seconds in the sim process.

    ``tokens_sent`` counts tokens the model emitted onto the connection.  They may still sit in
    transport buffers when the client is not reading, just as with a real upstream.
    ``generation_ended_at`` is when the model stopped; ``ended_at`` is when the response was fully
    handed to the transport or abandoned.
    """

    id: str
    path: str
    http_version: str
    client: str
    started_at: float = field(default_factory=time.monotonic)
    model: str | None = None
    stream: bool = False
    prompt: Any = None
    max_tokens: int | None = None
    status: int | None = None
    source: str | None = None  # "script", "truth" or "empty"
    fault: str | None = None
    first_token_at: float | None = None
    generation_ended_at: float | None = None
    ended_at: float | None = None
    tokens_planned: int = 0
    tokens_sent: int = 0
    finish_reason: str | None = None
    # Only for requests with a predicted output: tokens the prediction covered / that went unused.
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    outcome: Outcome = "in_progress"

    def finish(self, outcome: Outcome) -> None:
        """Set the final outcome once; later calls (e.g. a disconnect after completion) are ignored."""
        if self.outcome != "in_progress":
            return
        self.outcome = outcome
        now = time.monotonic()
        self.ended_at = now
        if self.generation_ended_at is None:
            self.generation_ended_at = now

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """All records since the last clear; the totals are computed from them."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def stats(self) -> dict[str, int]:
        outcomes = [record.outcome for record in self.records]
        return {
            "requests": len(self.records),
            "in_progress": outcomes.count("in_progress"),
            "completed": outcomes.count("completed"),
            "client_disconnected": outcomes.count("client_disconnected"),
            "fault": outcomes.count("fault"),
            "error": outcomes.count("error"),
            "tokens_sent": sum(record.tokens_sent for record in self.records),
            "connections": len({record.client for record in self.records}),
        }
