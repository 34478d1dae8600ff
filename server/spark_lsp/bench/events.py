"""What one replay recorded: every inline request the editor sent and what became of it, per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from spark_lsp.bench.user import RegionProgress, Verdict

# probe: an invoked request at the end of a complete file; echo: one for a document that is not open,
# which the server answers at once (the LSP round-trip floor).
RequestKind = Literal["type", "accept", "probe", "echo"]
# pending: no answer yet; suggestion/empty: answered while current; cancelled: the editor cancelled it
# (any answer is discarded, as VS Code does); error: an LSP error; unanswered: no answer before the timeout.
Outcome = Literal["pending", "suggestion", "empty", "cancelled", "error", "unanswered"]


@dataclass
class SentRequest:
    """One `textDocument/inlineCompletion` request; times are `time.monotonic()` seconds."""

    msg_id: str
    kind: RequestKind
    at: float  # when the key that triggered it was pressed (its didChange went out at this time)
    version: int
    line: int
    character: int
    region: int = 0
    answered_at: float | None = None
    outcome: Outcome = "pending"
    text: str | None = None
    verdict: Verdict | None = None
    accepted: bool = False
    # The server sent a result although the editor had already cancelled the request.
    answered_after_cancel: bool = False
    error: str | None = None

    @property
    def shown(self) -> bool:
        """Whether the editor displayed ghost text for this request."""
        return self.outcome == "suggestion"


@dataclass
class FileRun:
    """One file replayed by one server process in one mode (a fresh server per file keeps stats apart)."""

    label: str
    profile: str
    mode: str
    file: str
    regions: list[dict[str, Any]] = field(default_factory=list)
    effort: int = 0
    typed: int = 0
    accepted: int = 0
    auto_indent: int = 0
    tabs: int = 0
    requests: list[SentRequest] = field(default_factory=list)
    probes: list[SentRequest] = field(default_factory=list)
    # The simulator's records of the typing phase and of the probe phase (None in live mode).
    sim_records: list[dict[str, Any]] | None = None
    probe_records: list[dict[str, Any]] | None = None
    server_stats: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    started_at: float = 0.0
    duration_s: float = 0.0

    def count(self, progress: RegionProgress) -> None:
        """Add what was done in one region (also when the server died half-way through it)."""
        self.effort += progress.effort
        self.typed += progress.typed
        self.accepted += progress.accepted
        self.auto_indent += progress.auto_indent
        self.tabs += progress.tabs
