"""Minimal ASGI plumbing: message types, body reading and plain JSON responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from spark_lsp.sim.wire import encode_json

Scope = Mapping[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

SERVER_HEADER = (b"server", b"spark-lsp-sim")


class ClientGone(Exception):
    """The client disconnected before the request body was complete."""


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def has_bearer_token(scope: Scope) -> bool:
    auth = header(scope, b"authorization") or ""
    scheme, _, token = auth.partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def client_id(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "unknown"
    host, port = client[0], client[1]
    return f"{host}:{port}"


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            return b"".join(chunks)


def encode_headers(headers: Mapping[str, str]) -> Headers:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


async def send_start(send: Send, status: int, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [SERVER_HEADER, *headers]})


async def send_body(send: Send, data: bytes, *, more: bool) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def send_json(send: Send, status: int, body: object, headers: Headers | None = None) -> None:
    data = encode_json(body)
    base: Headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode("ascii")),
    ]
    await send_start(send, status, base + (headers or []))
    await send_body(send, data, more=False)
