"""The one small interface every model provider implements, and the errors it reports as values."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Literal, Protocol

ErrorKind = Literal[
    "unauthorized",
    "rate_limited",
    "server_error",
    "connection",
    "timeout",
    "bad_request",
    "protocol",
    "context_too_long",
    "invalid_answer",
]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One generation: a raw FIM prompt (`prompt`) or a chat (`messages`)."""

    model: str
    max_tokens: int
    prompt: str | None = None
    messages: tuple[dict[str, str], ...] = ()
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    # Whether secrets were already redacted from the prompt (the generation layer redacts otherwise).
    redacted: bool = False
    # Predicted output (chat only): text the answer will mostly repeat, e.g. the code being rewritten.
    prediction: str | None = None

    @property
    def is_chat(self) -> bool:
        """Whether this request goes to the chat endpoint."""
        return self.prompt is None


@dataclass(slots=True)
class StreamInfo:
    """What a provider learnt while streaming (filled in as the stream goes)."""

    http_version: str = ""
    status: int = 0
    finish_reason: str | None = None
    completion_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """A failure talking to a provider, classified so the caller can decide what to do."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        status: int | None = None,
        retry_after_s: float | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.headers = headers or {}


class Provider(Protocol):
    """A model endpoint that streams text and can be cancelled at any await."""

    name: str
    tier: str

    def stream(self, request: ModelRequest, info: StreamInfo) -> AsyncGenerator[str, None]:
        """Yield text pieces as they arrive; closing the iterator closes the upstream stream at once."""
        ...

    async def list_models(self) -> list[str]:
        """The model ids the endpoint serves."""
        ...

    async def warm(self) -> None:
        """Open (or keep open) a pooled connection so the next request pays no handshake."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
