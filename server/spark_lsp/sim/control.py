"""The ``/sim/*`` control endpoints: script queue, truth texts, request log and stats."""

from __future__ import annotations

import json
from collections.abc import Mapping

from spark_lsp.sim.asgi_io import Receive, Send, read_body, send_json
from spark_lsp.sim.fault_mix import parse_fault_mix
from spark_lsp.sim.script import parse_entry
from spark_lsp.sim.state import SimState
from spark_lsp.sim.wire import error_body

CONTROL_ROUTES = ("/sim/script", "/sim/faults", "/sim/truth", "/sim/requests", "/sim/stats", "/sim/config")


async def serve_control(state: SimState, method: str, path: str, receive: Receive, send: Send) -> None:
    if path == "/sim/script":
        await _script(state, method, receive, send)
    elif path == "/sim/truth":
        await _truth(state, method, receive, send)
    elif path == "/sim/faults":
        await _faults(state, method, receive, send)
    elif path == "/sim/requests" and method == "GET":
        await send_json(send, 200, [record.to_json() for record in state.log.records])
    elif path == "/sim/requests" and method == "DELETE":
        cleared = len(state.log.records)
        state.log.clear()
        await send_json(send, 200, {"cleared": cleared})
    elif path == "/sim/stats" and method == "GET":
        await send_json(send, 200, state.log.stats())
    elif path == "/sim/config" and method == "GET":
        latency = state.latency
        body = {
            "simulator": True,
            "profile": latency.name,
            "ttft_ms": latency.ttft_s * 1000.0,
            "ttft_jitter_ms": latency.ttft_jitter_s * 1000.0,
            "tokens_per_second": latency.tokens_per_second,
            "prompt_ms_per_1k_tokens": latency.prompt_s_per_1k_tokens * 1000.0,
            "models": list(state.models),
        }
        await send_json(send, 200, body)
    else:
        await send_json(send, 405, error_body(405, f"{method} is not supported on {path}"))


async def _script(state: SimState, method: str, receive: Receive, send: Send) -> None:
    if method == "GET":
        await send_json(send, 200, {"responses": state.script.describe()})
    elif method == "DELETE":
        cleared = len(state.script)
        state.script.clear()
        await send_json(send, 200, {"cleared": cleared})
    elif method == "POST":
        body = await _json_object(receive, send)
        if body is None:
            return
        raw = body.get("responses")
        if not isinstance(raw, list):
            await send_json(send, 400, error_body(400, '"responses" must be a list'))
            return
        try:
            entries = [parse_entry(item) for item in raw]
        except ValueError as error:
            await send_json(send, 400, error_body(400, str(error)))
            return
        state.script.extend(entries)
        await send_json(send, 200, {"queued": len(state.script)})
    else:
        await send_json(send, 405, error_body(405, f"{method} is not supported on /sim/script"))


async def _truth(state: SimState, method: str, receive: Receive, send: Send) -> None:
    if method == "GET":
        await send_json(send, 200, {"truths": state.truth.describe()})
    elif method == "DELETE":
        cleared = len(state.truth)
        state.truth.clear()
        await send_json(send, 200, {"cleared": cleared})
    elif method == "POST":
        body = await _json_object(receive, send)
        if body is None:
            return
        name, text = body.get("name"), body.get("text")
        if not isinstance(name, str) or not isinstance(text, str):
            await send_json(send, 400, error_body(400, '"name" and "text" must be strings'))
            return
        state.truth.add(name, text)
        await send_json(send, 200, {"truths": state.truth.describe()})
    else:
        await send_json(send, 405, error_body(405, f"{method} is not supported on /sim/truth"))


async def _faults(state: SimState, method: str, receive: Receive, send: Send) -> None:
    if method == "DELETE":
        state.fault_mix = ()
        await send_json(send, 200, {"faults": 0})
    elif method == "POST":
        body = await _json_object(receive, send)
        if body is None:
            return
        try:
            state.fault_mix = parse_fault_mix(body.get("random", []))
        except ValueError as error:
            await send_json(send, 400, error_body(400, str(error)))
            return
        await send_json(send, 200, {"faults": len(state.fault_mix)})
    else:
        await send_json(send, 405, error_body(405, f"{method} is not supported on /sim/faults"))


async def _json_object(receive: Receive, send: Send) -> Mapping[str, object] | None:
    """The request body as a JSON object, or None after answering 400."""
    try:
        body = json.loads(await read_body(receive))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        await send_json(send, 400, error_body(400, f"body is not valid JSON: {error}"))
        return None
    if not isinstance(body, Mapping):
        await send_json(send, 400, error_body(400, "body must be a JSON object"))
        return None
    return body
