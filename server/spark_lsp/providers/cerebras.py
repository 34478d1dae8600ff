"""The fast tier: Cerebras Cloud through `cerebras-cloud-sdk`, streaming with our own SSE parsing."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from cerebras.cloud.sdk import APIConnectionError, APIStatusError, APITimeoutError, AsyncCerebras

from spark_lsp.providers.base import ModelRequest, ProviderError, StreamInfo
from spark_lsp.providers.errors import error_from_status
from spark_lsp.providers.opening import open_uncancelled
from spark_lsp.providers.sse import iter_sse_text
from spark_lsp.providers.stream_abort import abort_response

logger = logging.getLogger(__name__)


def _status_error(error: APIStatusError) -> ProviderError:
    body = error.body
    message = str(body.get("message", error.message)) if isinstance(body, dict) else error.message
    return error_from_status(error.status_code, error.response.headers, message)


class _Entered:
    """Exits a context manager that was entered elsewhere (see `open_uncancelled`)."""

    def __init__(self, context: AbstractAsyncContextManager[Any], value: Any) -> None:
        self._context = context
        self._value = value

    async def __aenter__(self) -> Any:
        return self._value

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._context.__aexit__(*exc_info)


class CerebrasProvider:
    """Streams from Cerebras with the SDK's request path but without its per-chunk pydantic parsing.

    `warm_tcp_connection=False` because the SDK's warm-up blocks the event loop and warms a different
    (synchronous) pool; `max_retries=0` because a retried completion arrives too late to show.
    """

    tier = "fast"

    def __init__(
        self, http: httpx.AsyncClient, api_key: str, base_url: str | None, name: str = "cerebras"
    ) -> None:
        self.name = name
        self._http = http
        self._client = AsyncCerebras(
            api_key=api_key, base_url=base_url, http_client=http, max_retries=0, warm_tcp_connection=False
        )

    async def stream(self, request: ModelRequest, info: StreamInfo) -> AsyncGenerator[str, None]:
        """Yield text as it streams; an early close resets the upstream stream (see stream_abort)."""
        arguments: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "temperature": request.temperature,
        }
        if request.stop:
            arguments["stop"] = list(request.stop)
        if request.prediction is not None and request.is_chat:
            arguments["prediction"] = {"type": "content", "content": request.prediction}
        context: AbstractAsyncContextManager[Any]
        try:
            if request.is_chat:
                context = self._client.chat.completions.with_streaming_response.create(
                    messages=list(request.messages),  # type: ignore[arg-type]
                    max_completion_tokens=request.max_tokens,
                    **arguments,
                )
            else:
                context = self._client.completions.with_streaming_response.create(
                    prompt=request.prompt or "", max_tokens=request.max_tokens, **arguments
                )

            async def abandon(opened: Any) -> None:
                await abort_response(opened.http_response)
                await context.__aexit__(None, None, None)

            response: Any = await open_uncancelled(context.__aenter__(), abandon)
            async with _Entered(context, response):
                http_response = response.http_response
                info.status = http_response.status_code
                info.http_version = http_response.http_version
                info.headers = dict(http_response.headers)
                finished = False
                try:
                    async for piece in iter_sse_text(http_response.aiter_lines(), info):
                        yield piece
                    finished = True
                finally:
                    if not finished:
                        await abort_response(http_response)
        except APIStatusError as error:
            raise _status_error(error) from None
        except APITimeoutError as error:
            raise ProviderError("timeout", f"timed out: {error}") from None
        except APIConnectionError as error:
            raise ProviderError("connection", f"connection failed: {error.__cause__ or error}") from None
        except httpx.TimeoutException as error:
            raise ProviderError("timeout", f"timed out mid-stream: {error!r}") from None
        except (httpx.TransportError, httpx.StreamError) as error:
            raise ProviderError("connection", f"stream broken: {error!r}") from None

    async def list_models(self) -> list[str]:
        """Model ids from `GET /v1/models`."""
        try:
            page = await self._client.models.list()
        except APIStatusError as error:
            raise _status_error(error) from None
        except (APIConnectionError, httpx.TransportError) as error:
            raise ProviderError("connection", f"connection failed: {error}") from None
        return [model.id for model in page.data]

    async def warm(self) -> None:
        """Open a pooled connection (TLS + HTTP/2 set-up) with a cheap authenticated request."""
        await self.list_models()

    async def aclose(self) -> None:
        """Close the SDK client and its pool."""
        await self._client.close()
