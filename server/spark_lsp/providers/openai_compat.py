"""Any OpenAI-compatible endpoint (vLLM, TGI, llama.cpp server, Ollama, OpenAI) over pooled httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from spark_lsp.providers.base import ModelRequest, ProviderError, StreamInfo
from spark_lsp.providers.errors import error_from_status
from spark_lsp.providers.opening import open_uncancelled
from spark_lsp.providers.sse import iter_sse_text
from spark_lsp.providers.stream_abort import abort_response


def _error_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)
    return str(error)


class OpenAICompatProvider:
    """Streams from `{base_url}/completions` or `{base_url}/chat/completions` (base URL ends in /v1)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str | None, name: str, tier: str
    ) -> None:
        self.name = name
        self.tier = tier
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _body(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.is_chat:
            body["messages"] = list(request.messages)
            if request.prediction is not None:
                body["prediction"] = {"type": "content", "content": request.prediction}
            return "/chat/completions", body
        body["prompt"] = request.prompt
        return "/completions", body

    async def stream(self, request: ModelRequest, info: StreamInfo) -> AsyncGenerator[str, None]:
        """Yield text as it streams; an early close resets the upstream stream (see stream_abort)."""
        path, body = self._body(request)
        try:
            http_request = self._http.build_request(
                "POST", self._base + path, json=body, headers=self._headers
            )
            response = await open_uncancelled(self._http.send(http_request, stream=True), abort_response)
        except httpx.TimeoutException as error:
            raise ProviderError("timeout", f"timed out: {error!r}") from None
        except httpx.TransportError as error:
            raise ProviderError("connection", f"connection failed: {error!r}") from None
        finished = False
        try:
            info.status = response.status_code
            info.http_version = response.http_version
            info.headers = dict(response.headers)
            if response.status_code >= 400:
                message = _error_message(await response.aread())
                raise error_from_status(response.status_code, response.headers, message)
            async for piece in iter_sse_text(response.aiter_lines(), info):
                yield piece
            finished = True
        except httpx.TimeoutException as error:
            raise ProviderError("timeout", f"timed out mid-stream: {error!r}") from None
        except (httpx.TransportError, httpx.StreamError) as error:
            raise ProviderError("connection", f"stream broken: {error!r}") from None
        finally:
            if finished or response.is_closed:
                await response.aclose()
            else:
                await abort_response(response)

    async def list_models(self) -> list[str]:
        """Model ids from `GET {base_url}/models`."""
        try:
            response = await self._http.get(self._base + "/models", headers=self._headers)
        except httpx.TransportError as error:
            raise ProviderError("connection", f"connection failed: {error!r}") from None
        if response.status_code >= 400:
            raise error_from_status(response.status_code, response.headers, _error_message(response.content))
        try:
            data = response.json().get("data", [])
            return [str(model["id"]) for model in data if isinstance(model, dict) and "id" in model]
        except (ValueError, AttributeError) as error:
            raise ProviderError("protocol", f"unexpected /models answer: {error}") from None

    async def warm(self) -> None:
        """Open a pooled connection with a cheap request."""
        await self.list_models()

    async def aclose(self) -> None:
        """Close the pool."""
        await self._http.aclose()
