"""Server-sent events from OpenAI-compatible streams: lines in, text pieces out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from spark_lsp.providers.base import ProviderError, StreamInfo


def text_of_chunk(payload: dict[str, Any], info: StreamInfo) -> str:
    """The generated text in one chunk of `/v1/completions` or `/v1/chat/completions`."""
    error = payload.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise ProviderError("server_error", f"error event in stream: {message}")
    usage = payload.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        info.completion_tokens = usage["completion_tokens"]
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        return ""
    choice = choices[0]
    if not isinstance(choice, dict):
        return ""
    if choice.get("finish_reason"):
        info.finish_reason = str(choice["finish_reason"])
    text = choice.get("text")
    if isinstance(text, str):
        return text
    delta = choice.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("content"), str):
        return str(delta["content"])
    return ""


async def iter_sse_text(lines: AsyncIterator[str], info: StreamInfo) -> AsyncIterator[str]:
    """Text pieces from SSE lines until `[DONE]`; malformed events raise a protocol error."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            # Providers send one JSON object per event; dispatching at once saves a blank-line wait.
            joined = "\n".join(data)
            if joined == "[DONE]":
                return
            try:
                payload = json.loads(joined)
            except json.JSONDecodeError:
                continue
            data.clear()
            if not isinstance(payload, dict):
                raise ProviderError("protocol", "stream event is not a JSON object")
            piece = text_of_chunk(payload, info)
            if piece:
                yield piece
        elif not line.strip():
            if data:
                raise ProviderError("protocol", f"malformed stream event: {''.join(data)[:80]!r}")
        elif line.startswith("event:") and line[6:].strip() == "error":
            raise ProviderError("server_error", "error event in stream")
        # Comments (`:`) and other fields (`id:`, `retry:`) carry nothing we use.
