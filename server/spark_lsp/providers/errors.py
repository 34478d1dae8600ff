"""HTTP failures turned into classified `ProviderError` values."""

from __future__ import annotations

from collections.abc import Mapping

from spark_lsp.providers.base import ErrorKind, ProviderError


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a provider asks for, from `retry-after-ms` (preferred) or `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None


_CONTEXT_TOO_LONG = ("context_length", "context length", "too long", "maximum context", "too many tokens")


def kind_of_status(status: int, message: str = "") -> ErrorKind:
    """The error class of an HTTP status (and, for 400/413, its message)."""
    if status in (400, 413, 422) and any(marker in message.lower() for marker in _CONTEXT_TOO_LONG):
        return "context_too_long"
    if status in (401, 403):
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    if status in (408, 504):
        return "timeout"
    if status >= 500:
        return "server_error"
    return "bad_request"


def error_from_status(status: int, headers: Mapping[str, str], message: str) -> ProviderError:
    """A classified error for a non-2xx response."""
    return ProviderError(
        kind_of_status(status, message),
        f"HTTP {status}: {message}"[:300],
        status=status,
        retry_after_s=retry_after_seconds(headers),
        headers={name.lower(): value for name, value in headers.items()},
    )
