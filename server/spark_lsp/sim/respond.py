"""Serves one inference request: picks the answer, paces tokens, injects faults, watches for disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from spark_lsp.sim.answers import Answer, choose_answer
from spark_lsp.sim.asgi_io import (
    ClientGone,
    Headers,
    Receive,
    Scope,
    Send,
    client_id,
    encode_headers,
    has_bearer_token,
    read_body,
    send_body,
    send_json,
    send_start,
)
from spark_lsp.sim.faults import (
    DropConnection,
    ErrorEvent,
    MalformedSse,
    StallBeforeFirstToken,
    StallMidStream,
    StatusFault,
    TokenFault,
)
from spark_lsp.sim.inference import BadRequest, InferenceRequest, parse_inference
from spark_lsp.sim.pacing import Batch, Pace, paced_batches
from spark_lsp.sim.plan import FinishReason, Plan, plan_answer
from spark_lsp.sim.prediction import Acceptance, match_prediction
from spark_lsp.sim.profiles import normalise_rate
from spark_lsp.sim.records import RequestRecord
from spark_lsp.sim.script import Endpoint
from spark_lsp.sim.state import SimState
from spark_lsp.sim.transport import abort_connection
from spark_lsp.sim.wire import (
    DONE_EVENT,
    RATE_LIMIT_HEADERS,
    ResponseShaper,
    Timings,
    Usage,
    encode_json,
    error_body,
    new_request_id,
    sse_event,
)


@dataclass(frozen=True)
class _Done:
    finish_reason: FinishReason


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_Item = Batch | _Done | _Failed | MalformedSse | ErrorEvent | DropConnection


@dataclass
class _Job:
    """Everything one generation needs, so the producer and the two kinds of consumer share it."""

    state: SimState
    request: InferenceRequest
    record: RequestRecord
    plan: Plan
    pace: Pace
    stalls: dict[int, float]
    fault: TokenFault | None
    shaper: ResponseShaper
    headers: Headers
    started_wall: float
    acceptance: Acceptance | None = None

    def usage(self) -> Usage:
        if self.acceptance is None:
            return Usage(self.request.prompt_tokens, self.record.tokens_sent)
        return Usage(
            self.request.prompt_tokens,
            self.record.tokens_sent,
            self.acceptance.accepted_tokens,
            self.acceptance.rejected_tokens,
        )

    def timings(self) -> Timings:
        first = self.record.first_token_at or time.monotonic()
        ended = self.record.generation_ended_at or time.monotonic()
        return Timings(self.started_wall, first - self.record.started_at, ended - first)


async def serve_inference(
    state: SimState, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send
) -> None:
    """Handle ``POST /v1/completions`` or ``/v1/chat/completions`` end to end and keep its record."""
    record = RequestRecord(
        id=new_request_id(),
        path=str(scope["path"]),
        http_version=str(scope.get("http_version", "")),
        client=client_id(scope),
    )
    state.log.add(record)
    base_headers = encode_headers({"x-request-id": record.id, **RATE_LIMIT_HEADERS})
    try:
        await _serve(state, endpoint, scope, receive, send, record, base_headers)
    except ClientGone:
        record.finish("client_disconnected")
    except (Exception, asyncio.CancelledError):
        # Cancelled means the server is shutting down under the request.
        record.finish("error")
        raise


async def _serve(
    state: SimState,
    endpoint: Endpoint,
    scope: Scope,
    receive: Receive,
    send: Send,
    record: RequestRecord,
    headers: Headers,
) -> None:
    if not has_bearer_token(scope):
        await _reject(send, record, 401, "Missing or malformed Authorization header (want 'Bearer <key>').")
        return
    raw = await read_body(receive)
    try:
        request = parse_inference(endpoint, raw)
    except BadRequest as error:
        await _reject(send, record, 400, str(error), param=error.param, headers=headers)
        return
    record.model = request.model
    record.stream = request.stream
    record.prompt = request.prompt
    record.max_tokens = request.max_tokens
    if request.model not in state.models:
        message = f"Model {request.model} does not exist or you do not have access to it."
        await _reject(send, record, 404, message, param="model", headers=headers)
        return

    answer = choose_answer(state, request)
    record.source = answer.source
    fault = answer.entry.fault if answer.entry else None
    record.fault = None if fault is None else type(fault).__name__
    ttft, rate = _timing(state, request, answer)

    if isinstance(fault, StatusFault):
        # Errors such as rate limits come back without generating, after the scripted delay if any.
        delay = ttft if answer.entry is not None and answer.entry.ttft_ms is not None else 0.0
        if await _until_disconnect(receive, asyncio.sleep(delay)):
            record.finish("client_disconnected")
            return
        await _send_status_fault(send, record, fault, headers)
        return

    plan = plan_answer(answer.text, max_tokens=answer.max_tokens, stop=request.stop)
    record.tokens_planned = plan.completion_tokens
    stalls: dict[int, float] = {}
    if isinstance(fault, StallBeforeFirstToken):
        stalls[0] = fault.ms / 1000.0
    elif isinstance(fault, StallMidStream):
        stalls[fault.after_tokens] = fault.ms / 1000.0
    acceptance = None
    if request.prediction is not None:
        acceptance = match_prediction(plan.pieces, request.prediction)
        record.accepted_prediction_tokens = acceptance.accepted_tokens
        record.rejected_prediction_tokens = acceptance.rejected_tokens
    job = _Job(
        state=state,
        request=request,
        record=record,
        plan=plan,
        pace=Pace(record.started_at, ttft, rate),
        stalls=stalls,
        fault=fault if isinstance(fault, MalformedSse | ErrorEvent | DropConnection) else None,
        shaper=ResponseShaper(endpoint, request.model),
        headers=headers,
        started_wall=time.time(),
        acceptance=acceptance,
    )
    await _run_job(job, receive, send)


def _timing(state: SimState, request: InferenceRequest, answer: Answer) -> tuple[float, float | None]:
    entry = answer.entry
    if entry is not None and entry.ttft_ms is not None:
        ttft = max(0.0, entry.ttft_ms) / 1000.0
    else:
        ttft = state.latency.ttft_for(request.prompt_tokens, state.rng)
    if entry is not None and entry.tokens_per_second is not None:
        return ttft, normalise_rate(entry.tokens_per_second)
    return ttft, state.latency.tokens_per_second


async def _reject(
    send: Send,
    record: RequestRecord,
    status: int,
    message: str,
    *,
    param: str | None = None,
    headers: Headers | None = None,
) -> None:
    record.status = status
    await send_json(send, status, error_body(status, message, param=param), headers)
    record.finish("error")


async def _send_status_fault(send: Send, record: RequestRecord, fault: StatusFault, headers: Headers) -> None:
    extra: dict[str, str] = dict(fault.ratelimit_headers)
    if fault.retry_after_s is not None:
        extra["retry-after"] = f"{fault.retry_after_s:g}"
    if fault.retry_after_ms is not None:
        extra["retry-after-ms"] = f"{fault.retry_after_ms:g}"
    # Scripted rate-limit headers replace the constant ones of the same name.
    names = {name.lower() for name in extra}
    kept = [(name, value) for name, value in headers if name.decode("latin-1") not in names]
    message = {
        429: "Requests per minute limit exceeded - too many requests sent.",
        503: "The simulated upstream is overloaded; try again later.",
    }.get(fault.status, f"The simulated upstream answered HTTP {fault.status}.")
    message = fault.message or message
    record.status = fault.status
    await send_json(send, fault.status, error_body(fault.status, message), kept + encode_headers(extra))
    record.finish("fault")


async def _until_disconnect(receive: Receive, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` until it ends or the client disconnects; True (and ``work`` cancelled) on disconnect."""
    work_task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        done, _ = await asyncio.wait({work_task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        work_task.cancel()
        watch.cancel()
        await asyncio.gather(work_task, watch, return_exceptions=True)
    if work_task in done:
        work_task.result()
        return False
    return True


async def _wait_for_disconnect(receive: Receive) -> None:
    # After the body, hypercorn's only message is ``http.disconnect``: sent when the client closes an
    # HTTP/1.1 connection, resets an HTTP/2 stream, or after the response ends.
    while (await receive())["type"] != "http.disconnect":
        pass


async def _run_job(job: _Job, receive: Receive, send: Send) -> None:
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    producer = asyncio.create_task(_produce_or_report(job, queue))
    try:
        deliver = (
            _deliver_stream(job, queue, send) if job.request.stream else _deliver_whole(job, queue, send)
        )
        if await _until_disconnect(receive, deliver):
            job.record.finish("client_disconnected")
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def _produce_or_report(job: _Job, queue: asyncio.Queue[_Item]) -> None:
    # The deliverer waits on the queue, so a crash here must reach it through the queue.
    try:
        await _produce(job, queue)
    except Exception as error:
        queue.put_nowait(_Failed(error))


async def _produce(job: _Job, queue: asyncio.Queue[_Item]) -> None:
    """Run the simulated model on its schedule; it never waits for the client, like a real upstream."""
    record = job.record
    fault = job.fault
    breaks = [] if fault is None else [fault.after_tokens]
    if fault is not None and fault.after_tokens == 0:
        await _sleep_until(job.pace.start + job.pace.ttft_s + job.stalls.get(0, 0.0))
        record.generation_ended_at = time.monotonic()
        queue.put_nowait(fault)
        return
    speedups = None if job.acceptance is None else job.acceptance.speedups()
    batches = paced_batches(job.plan.pieces, job.pace, stalls=job.stalls, breaks=breaks, speedups=speedups)
    async for batch in batches:
        if record.first_token_at is None:
            record.first_token_at = time.monotonic()
        record.tokens_sent = batch.total_tokens
        queue.put_nowait(batch)
        if fault is not None and batch.total_tokens >= fault.after_tokens:
            record.generation_ended_at = time.monotonic()
            queue.put_nowait(fault)
            return
    if record.first_token_at is None:
        # Nothing to say still costs the time to first token.
        await _sleep_until(job.pace.start + job.pace.ttft_s + job.stalls.get(0, 0.0))
        record.first_token_at = time.monotonic()
    record.generation_ended_at = time.monotonic()
    record.finish_reason = job.plan.finish_reason
    queue.put_nowait(fault if fault is not None else _Done(job.plan.finish_reason))


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def _deliver_stream(job: _Job, queue: asyncio.Queue[_Item], send: Send) -> None:
    record = job.record
    shaper = job.shaper
    record.status = 200
    sse_headers: Headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
    ]
    await send_start(send, 200, sse_headers + job.headers)
    pending_role = job.request.endpoint == "chat"
    while True:
        item = await queue.get()
        if isinstance(item, _Failed):
            raise item.error
        prelude = b""
        if pending_role:
            prelude = sse_event(shaper.role_chunk())
            pending_role = False
        if isinstance(item, Batch):
            await send_body(send, prelude + sse_event(shaper.text_chunk(item.text)), more=True)
        elif isinstance(item, _Done):
            final = sse_event(shaper.final_chunk(item.finish_reason, job.usage(), job.timings()))
            await send_body(send, prelude + final + DONE_EVENT, more=False)
            record.finish("completed")
            return
        elif isinstance(item, MalformedSse):
            # A chunk cut off mid-JSON, as when a proxy truncates an event; no [DONE] follows.
            chunk = encode_json(shaper.text_chunk("\u2026"))
            broken = b"data: " + chunk[: len(chunk) // 2] + b"\n\n"
            await send_body(send, prelude + broken, more=False)
            record.finish("fault")
            return
        elif isinstance(item, ErrorEvent):
            await send_body(send, prelude + sse_event(shaper.error_event()), more=False)
            record.finish("fault")
            return
        else:
            if prelude:
                await send_body(send, prelude, more=True)
            _drop(send)
            record.finish("fault")
            return


async def _deliver_whole(job: _Job, queue: asyncio.Queue[_Item], send: Send) -> None:
    """Non-streaming: the body goes out once generation ends, so a fault decides the whole response."""
    record = job.record
    texts: list[str] = []
    while True:
        item = await queue.get()
        if isinstance(item, _Failed):
            raise item.error
        if isinstance(item, Batch):
            texts.append(item.text)
            continue
        if isinstance(item, _Done):
            record.status = 200
            body = job.shaper.full_response("".join(texts), item.finish_reason, job.usage(), job.timings())
            await send_json(send, 200, body, job.headers)
            record.finish("completed")
        elif isinstance(item, MalformedSse):
            record.status = 200
            data = encode_json(job.shaper.full_response("".join(texts), "stop", job.usage(), job.timings()))
            truncated = data[: len(data) // 2]
            await send_start(send, 200, [(b"content-type", b"application/json"), *job.headers])
            await send_body(send, truncated, more=False)
            record.finish("fault")
        elif isinstance(item, ErrorEvent):
            record.status = 500
            await send_json(send, 500, job.shaper.error_event(), job.headers)
            record.finish("fault")
        else:
            _drop(send)
            record.finish("fault")
        return


def _drop(send: Send) -> None:
    # If the socket cannot be reached, returning without ending the body still makes hypercorn close
    # an HTTP/1.1 connection; for HTTP/2 the stream would just hang, so report that loudly.
    if not abort_connection(send):
        raise RuntimeError("drop_connection fault: could not reach the connection to abort it")
