"""The simulator's hand-written ASGI application: routes requests to the wire protocol or control handlers."""

from __future__ import annotations

import contextlib

from spark_lsp.sim.asgi_io import (
    ClientGone,
    Receive,
    Scope,
    Send,
    encode_headers,
    has_bearer_token,
    send_json,
)
from spark_lsp.sim.control import CONTROL_ROUTES, serve_control
from spark_lsp.sim.respond import serve_inference
from spark_lsp.sim.state import SimState
from spark_lsp.sim.wire import RATE_LIMIT_HEADERS, error_body, model_card, models_list

_INFERENCE = {"/v1/completions": "completions", "/v1/chat/completions": "chat"}


class SimApp:
    """ASGI 3 app over a ``SimState``; one instance per running simulator."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            # A client that leaves mid-body gets no answer; there is no one to send it to.
            with contextlib.suppress(ClientGone):
                await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope["method"])
        path = str(scope["path"]).rstrip("/") or "/"
        endpoint = _INFERENCE.get(path)
        if endpoint == "completions" and method == "POST":
            await serve_inference(self.state, "completions", scope, receive, send)
        elif endpoint == "chat" and method == "POST":
            await serve_inference(self.state, "chat", scope, receive, send)
        elif path in CONTROL_ROUTES:
            await serve_control(self.state, method, path, receive, send)
        elif path == "/v1/tcp_warming":
            # The Cerebras SDK pings this on start-up to open a connection early.
            await send_json(send, 200, {"object": "tcp_warming"})
        elif path == "/v1/models" or path.startswith("/v1/models/"):
            await self._models(scope, method, path, send)
        else:
            await send_json(send, 404, error_body(404, f"No route for {method} {path}", code="not_found"))

    async def _models(self, scope: Scope, method: str, path: str, send: Send) -> None:
        if not has_bearer_token(scope):
            await send_json(send, 401, error_body(401, "Missing or malformed Authorization header."))
            return
        if method != "GET":
            await send_json(send, 405, error_body(405, f"{method} is not supported on {path}"))
            return
        headers = encode_headers(RATE_LIMIT_HEADERS)
        if path == "/v1/models":
            await send_json(send, 200, models_list(self.state.models, self.state.created), headers)
            return
        name = path[len("/v1/models/") :]
        if name not in self.state.models:
            message = f"Model {name} does not exist or you do not have access to it."
            await send_json(send, 404, error_body(404, message, code="model_not_found"), headers)
            return
        await send_json(send, 200, model_card(name, self.state.created), headers)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
