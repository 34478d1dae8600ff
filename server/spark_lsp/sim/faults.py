"""Fault kinds a scripted response can inject, parsed from their JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatusFault:
    """Answer at once with an HTTP error status (429, 500, 503, ...) and an OpenAI-style error body."""

    status: int
    retry_after_s: float | None = None
    retry_after_ms: float | None = None
    ratelimit_headers: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class StallBeforeFirstToken:
    """Send the response headers, then wait ``ms`` longer than usual before the first token."""

    ms: float


@dataclass(frozen=True)
class StallMidStream:
    """Pause for ``ms`` once ``after_tokens`` tokens have been sent, then carry on."""

    after_tokens: int
    ms: float


@dataclass(frozen=True)
class MalformedSse:
    """After ``after_tokens`` tokens send an event whose JSON is cut short, then end the response."""

    after_tokens: int


@dataclass(frozen=True)
class ErrorEvent:
    """After ``after_tokens`` tokens send ``data: {"error": ...}`` as compatible servers do, then end."""

    after_tokens: int


@dataclass(frozen=True)
class DropConnection:
    """After ``after_tokens`` tokens abort the TCP connection under the response."""

    after_tokens: int


Fault = StatusFault | StallBeforeFirstToken | StallMidStream | MalformedSse | ErrorEvent | DropConnection
TokenFault = MalformedSse | ErrorEvent | DropConnection


def parse_fault(raw: object) -> Fault:
    """Build a fault from its JSON object; raises ValueError with a readable message when malformed."""
    if not isinstance(raw, Mapping):
        raise ValueError("fault must be an object")
    kind = raw.get("type")
    if kind == "status":
        status = _int(raw, "status", None)
        if not 400 <= status <= 599:
            raise ValueError("fault.status must be an HTTP error status (400-599)")
        headers = raw.get("ratelimit_headers") or {}
        if not isinstance(headers, Mapping):
            raise ValueError("fault.ratelimit_headers must be an object")
        return StatusFault(
            status=status,
            retry_after_s=_opt_float(raw, "retry_after_s"),
            retry_after_ms=_opt_float(raw, "retry_after_ms"),
            ratelimit_headers={str(k): str(v) for k, v in headers.items()},
            message=str(raw["message"]) if raw.get("message") is not None else None,
        )
    if kind == "stall_before_first_token":
        return StallBeforeFirstToken(ms=_float(raw, "ms"))
    if kind == "stall_mid_stream":
        return StallMidStream(after_tokens=_int(raw, "after_tokens", 0), ms=_float(raw, "ms"))
    if kind == "malformed_sse":
        return MalformedSse(after_tokens=_int(raw, "after_tokens", 0))
    if kind == "error_event":
        return ErrorEvent(after_tokens=_int(raw, "after_tokens", 0))
    if kind == "drop_connection":
        return DropConnection(after_tokens=_int(raw, "after_tokens", 0))
    raise ValueError(f"unknown fault type {kind!r}")


def _int(raw: Mapping[str, Any], key: str, default: int | None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"fault.{key} must be a non-negative integer")
    return value


def _float(raw: Mapping[str, Any], key: str) -> float:
    value = _opt_float(raw, key)
    if value is None:
        raise ValueError(f"fault.{key} is required")
    return value


def _opt_float(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"fault.{key} must be a non-negative number")
    return float(value)
