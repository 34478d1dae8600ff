"""The FIFO queue of scripted responses that tests push through ``POST /sim/script``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from spark_lsp.sim.faults import Fault, parse_fault

Endpoint = Literal["completions", "chat"]
FOREVER = -1


@dataclass
class ScriptEntry:
    """One scripted answer; ``repeat`` counts down as requests consume it (-1 = never used up)."""

    text: str
    match: str | None = None
    repeat: int = 1
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    endpoint: Endpoint | None = None
    fault: Fault | None = None

    def accepts(self, endpoint: Endpoint, prompt_text: str) -> bool:
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.match is None or self.match in prompt_text

    def describe(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "match": self.match,
            "repeat": self.repeat,
            "ttft_ms": self.ttft_ms,
            "tokens_per_second": self.tokens_per_second,
            "endpoint": self.endpoint,
            "fault": None if self.fault is None else type(self.fault).__name__,
        }


def parse_entry(raw: object) -> ScriptEntry:
    """Build an entry from its JSON object; raises ValueError with a readable message when malformed."""
    if not isinstance(raw, Mapping):
        raise ValueError("each response must be an object")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    match = raw.get("match")
    if match is not None and not isinstance(match, str):
        raise ValueError("match must be a string")
    repeat = raw.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or (repeat < 1 and repeat != FOREVER):
        raise ValueError("repeat must be a positive integer or -1")
    endpoint = raw.get("endpoint")
    if endpoint not in (None, "completions", "chat"):
        raise ValueError('endpoint must be "completions" or "chat"')
    fault = raw.get("fault")
    return ScriptEntry(
        text=text,
        match=match,
        repeat=repeat,
        ttft_ms=_opt_number(raw, "ttft_ms"),
        tokens_per_second=_opt_number(raw, "tokens_per_second"),
        endpoint=endpoint,
        fault=None if fault is None else parse_fault(fault),
    )


def _opt_number(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return float(value)


class ScriptQueue:
    """Scripted responses in FIFO order; an entry that does not fit is skipped, not used up."""

    def __init__(self) -> None:
        self._entries: list[ScriptEntry] = []

    def extend(self, entries: list[ScriptEntry]) -> None:
        self._entries.extend(entries)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, endpoint: Endpoint, prompt_text: str) -> ScriptEntry | None:
        for index, entry in enumerate(self._entries):
            if not entry.accepts(endpoint, prompt_text):
                continue
            if entry.repeat != FOREVER:
                entry.repeat -= 1
                if entry.repeat == 0:
                    del self._entries[index]
            return entry
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [entry.describe() for entry in self._entries]
