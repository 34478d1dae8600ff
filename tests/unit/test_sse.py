"""SSE parsing of OpenAI-compatible streams."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from spark_lsp.providers.base import ProviderError, StreamInfo
from spark_lsp.providers.errors import error_from_status, retry_after_seconds
from spark_lsp.providers.sse import iter_sse_text


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _collect(*lines: str) -> tuple[list[str], StreamInfo]:
    info = StreamInfo()
    return [piece async for piece in iter_sse_text(_lines(*lines), info)], info


async def test_completion_and_chat_chunks() -> None:
    pieces, info = await _collect(
        'data: {"choices": [{"text": "he", "finish_reason": null}]}',
        "",
        ": keep-alive comment",
        'data: {"choices": [{"delta": {"role": "assistant", "content": "llo"}}]}',
        "",
        'data: {"choices": [{"text": "", "finish_reason": "stop"}], "usage": {"completion_tokens": 2}}',
        "",
        "data: [DONE]",
        'data: {"choices": [{"text": "after done"}]}',
    )
    assert pieces == ["he", "llo"]
    assert info.finish_reason == "stop" and info.completion_tokens == 2


async def test_error_event_inside_the_stream_raises_a_classified_error() -> None:
    with pytest.raises(ProviderError) as caught:
        await _collect('data: {"choices": [{"text": "a"}]}', "", 'data: {"error": {"message": "overloaded"}}')
    assert caught.value.kind == "server_error" and "overloaded" in str(caught.value)


async def test_malformed_event_raises_a_protocol_error() -> None:
    with pytest.raises(ProviderError) as caught:
        await _collect("data: {not json", "")
    assert caught.value.kind == "protocol"


def test_retry_after_headers() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    error = error_from_status(429, {"retry-after": "3"}, "slow down")
    assert (error.kind, error.status, error.retry_after_s) == ("rate_limited", 429, 3.0)
    assert error_from_status(503, {}, "x").kind == "server_error"
    assert error_from_status(401, {}, "x").kind == "unauthorized"
