"""Abort an in-flight httpx streaming response so the upstream stops generating (RST_STREAM on HTTP/2)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import httpcore
import httpx

__all__ = ["DEFAULT_ABORT_TIMEOUT", "abort_response"]

logger = logging.getLogger(__name__)

#: Upper bound, in seconds, for each step of an abort (the reset write, then a last-resort hard close).
#: A healthy connection writes a 13-byte RST_STREAM frame in microseconds; if it takes longer than this
#: the connection is wedged and severing it is the better outcome anyway.
DEFAULT_ABORT_TIMEOUT = 1.0

# How deep to follow "...stream" attributes from `response.stream` to httpcore's per-stream object.
# httpx 0.28 / httpcore 1.0 need 4 hops (BoundAsyncStream -> AsyncResponseStream -> PoolByteStream
# -> HTTP2ConnectionByteStream); the slack tolerates a wrapper or two being added upstream.
_MAX_WALK_DEPTH = 8

# Set once the fallback has been logged at WARNING: it is a property of the installed httpx/httpcore,
# so repeating it on every keystroke would only flood the log.
_fallback_warned = False

# Strong references to running abort tasks: the event loop only keeps weak ones, and an abort task
# must not be garbage-collected half-way through writing its frame.
_running: set[asyncio.Task[None]] = set()


class _H2Connection(Protocol):
    """The parts of httpcore's private ``AsyncHTTP2Connection`` that an abort relies on."""

    _h2_state: h2.connection.H2Connection

    async def _write_outgoing_data(self, request: httpcore.Request) -> None: ...

    async def aclose(self) -> None: ...


class _Closeable(Protocol):
    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _H2Stream:
    """An HTTP/2 stream located behind an httpx response, validated against the response's extensions."""

    connection: _H2Connection
    stream_id: int
    request: httpcore.Request


async def abort_response(response: httpx.Response, *, time_limit: float = DEFAULT_ABORT_TIMEOUT) -> None:
    """Close a (possibly partially read) streaming response so the far end stops sending at once.

    * HTTP/1.x: closes the response; httpcore closes the connection when the body was not read to the
      end, which the server sees as a disconnect.
    * HTTP/2: sends RST_STREAM(CANCEL) for this stream only, gives back the connection-level flow-control
      window the stream's unread data was holding, then closes the response; the connection stays
      pooled for the next request. If httpcore's internals are not as expected, falls back to closing the
      response's connection (logged at WARNING once per process).

    Safe in ``finally`` / ``except CancelledError`` of a task being cancelled: the work runs in its own
    task, so neither a pending nor a repeated cancellation (anyio cancel scopes re-deliver on every
    await) can interrupt the frame write half-way. Each step is bounded by ``time_limit`` seconds.

    Never raises, with one deliberate exception: if the *caller* is cancelled while it waits, the abort
    still runs to completion and the CancelledError is then re-raised, because swallowing it would
    break ``asyncio.timeout``, TaskGroups and anyio cancel scopes.

    Call it from the task that iterates the response (typically its ``finally``) or after that task is
    done: as with ``response.aclose()``, a task still iterating a closed HTTP/2 response is never woken
    by httpcore and waits for its read timeout, which then marks the whole connection broken. If the
    reader was cancelled in the middle of an httpcore write, anyio has already marked the TLS stream
    broken; the reset cannot be sent and the connection is closed instead (the upstream still sees it).
    """
    if response.is_closed:
        # Fully read or already closed: nothing is in flight, and the connection is already released.
        return
    try:
        worker = asyncio.get_running_loop().create_task(
            _abort_bounded(response, time_limit), name="spark-lsp abort_response"
        )
    except RuntimeError:  # pragma: no cover - no running asyncio loop (e.g. trio); nothing we can do
        logger.debug("abort_response: no running asyncio loop", exc_info=True)
        return
    _running.add(worker)
    worker.add_done_callback(_running.discard)

    deferred: asyncio.CancelledError | None = None
    while not worker.done():
        try:
            # shield: a cancellation of the caller must not cancel the worker mid-write.
            await asyncio.shield(worker)
        except asyncio.CancelledError as exc:
            deferred = exc
    if deferred is not None:
        raise deferred


async def _abort_bounded(response: httpx.Response, time_limit: float) -> None:
    """Run the abort under a time limit; on timeout or error, sever the connection as a last resort."""
    try:
        async with asyncio.timeout(time_limit):
            await _abort(response)
        return
    except TimeoutError:
        logger.warning(
            "abort_response: closing the stream took over %.1fs; closing its connection", time_limit
        )
    except (httpcore.NetworkError, httpx.TransportError, OSError) as exc:
        # The connection is already broken; httpcore has marked it unusable, and severing it is cheap.
        logger.debug("abort_response: connection error while aborting: %r", exc)
    except Exception:
        logger.warning("abort_response: unexpected error; closing the connection instead", exc_info=True)
    try:
        async with asyncio.timeout(time_limit):
            await _sever(response)
    except Exception:
        logger.debug("abort_response: severing the connection failed", exc_info=True)


async def _abort(response: httpx.Response) -> None:
    if response.http_version != "HTTP/2":
        # HTTP/1.x cannot cancel a message: httpcore's HTTP11Connection._response_closed keeps the
        # connection only when both sides reached h11.DONE, otherwise it closes the socket. That close is
        # what tells the upstream to stop.
        await response.aclose()
        return
    stream = _locate_h2_stream(response)
    if stream is None:
        _warn_fallback("could not find httpcore's HTTP/2 connection and stream id behind the response")
        await _sever(response)
        return
    await _reset_and_close(response, stream)


async def _reset_and_close(response: httpx.Response, stream: _H2Stream) -> None:
    conn = stream.connection
    state = conn._h2_state
    sid = stream.stream_id

    # Everything up to the write is synchronous, so no other task can touch the h2 state in between:
    # that is the same discipline httpcore uses (it mutates _h2_state without a lock and only holds
    # _write_lock while draining data_to_send() to the socket).
    unread = _unacknowledged_bytes(conn, state, sid)
    reset = _send_reset(state, sid)
    if unread:
        # The stream's unread DATA (queued in httpcore's _events, or already dropped by httpcore because
        # it forgot the stream) consumed connection-level window that httpcore will never acknowledge.
        # After the reset this only credits the connection window (h2 skips closed streams).
        try:
            state.acknowledge_received_data(unread, sid)
        except (h2.exceptions.ProtocolError, ValueError):
            logger.debug("abort_response: could not acknowledge %d bytes on stream %d", unread, sid)
        _drop_queued_data(conn, sid)
    if reset or unread:
        # Takes httpcore's _write_lock and flushes everything h2 has queued, our frames included.
        await conn._write_outgoing_data(stream.request)
    # Lets httpcore forget the stream, release its concurrency slot and return the connection to the pool.
    await response.aclose()


def _send_reset(state: h2.connection.H2Connection, sid: int) -> bool:
    """Queue RST_STREAM(CANCEL) for ``sid``; False when the stream has already ended or been reset."""
    try:
        state.reset_stream(sid, error_code=h2.errors.ErrorCodes.CANCEL)
    except h2.exceptions.ProtocolError as exc:
        # StreamClosedError (END_STREAM already received, or the server reset it) or a connection that
        # is closing (GOAWAY). Either way the server is no longer sending on this stream.
        logger.debug("abort_response: stream %d not reset (%r)", sid, exc)
        return False
    return True


def _unacknowledged_bytes(conn: _H2Connection, state: h2.connection.H2Connection, sid: int) -> int:
    """Flow-controlled bytes received on ``sid`` that nobody has acknowledged yet."""
    # Exact source: h2's per-stream inbound window. httpcore acknowledges each DATA frame as it hands it
    # to the reader, so (max window - current window - processed-not-yet-announced) is exactly the data
    # it has not handed out, including frames it dropped after forgetting a cancelled stream.
    h2_stream = state.streams.get(sid)
    manager: Any = getattr(h2_stream, "_inbound_window_manager", None)
    try:
        outstanding = manager.max_window_size - manager.current_window_size - manager._bytes_processed
    except (AttributeError, TypeError):
        outstanding = None
    if isinstance(outstanding, int) and outstanding >= 0:
        return outstanding
    # Fallback (h2 internals changed, or the stream was already swept): the DATA still queued in httpcore.
    return sum(event.flow_controlled_length or 0 for event in _queued_data(conn, sid))


def _queued_events(conn: _H2Connection, sid: int) -> list[object]:
    events = getattr(conn, "_events", None)
    queued = events.get(sid) if isinstance(events, dict) else None
    return cast(list[object], queued) if isinstance(queued, list) else []


def _queued_data(conn: _H2Connection, sid: int) -> list[h2.events.DataReceived]:
    return [e for e in _queued_events(conn, sid) if isinstance(e, h2.events.DataReceived)]


def _drop_queued_data(conn: _H2Connection, sid: int) -> None:
    # Already acknowledged above; a later reader (there should be none) must not acknowledge it twice.
    queued = _queued_events(conn, sid)
    queued[:] = [e for e in queued if not isinstance(e, h2.events.DataReceived)]


def _locate_h2_stream(response: httpx.Response) -> _H2Stream | None:
    """Find httpcore's HTTP2ConnectionByteStream behind ``response`` and check it really is ours."""
    ext_stream_id = response.extensions.get("stream_id")
    ext_network = response.extensions.get("network_stream")
    for obj in _walk_streams(response):
        found = _as_h2_stream(obj)
        if found is None:
            continue
        # Guard against having walked into some other stream: the public extensions httpcore attaches
        # to the response name the stream id and the socket, and they must match what we found.
        if ext_stream_id is not None and ext_stream_id != found.stream_id:
            return None
        network = getattr(found.connection, "_network_stream", None)
        if ext_network is not None and network is not None and network is not ext_network:
            return None
        return found
    return None


def _walk_streams(response: httpx.Response) -> Iterator[object]:
    """Breadth-first over ``response.stream`` and the objects it wraps.

    Follows attributes whose name contains "stream" (``_stream``, ``_httpcore_stream``) rather than
    hard-coding the chain, so an extra wrapper or a renamed hop in httpx does not break the lookup.
    """
    seen: set[int] = set()
    frontier: deque[tuple[object, int]] = deque([(response.stream, 0)])
    while frontier:
        obj, depth = frontier.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if depth >= _MAX_WALK_DEPTH:
            continue
        try:
            attributes = list(vars(obj).items())
        except TypeError:  # no __dict__ (slots, builtins)
            continue
        for name, value in attributes:
            if "stream" in name and "network" not in name and not isinstance(value, int | str | bytes):
                frontier.append((value, depth + 1))


def _as_h2_stream(obj: object) -> _H2Stream | None:
    conn: Any = getattr(obj, "_connection", None)
    sid = getattr(obj, "_stream_id", None)
    request = getattr(obj, "_request", None)
    if (
        isinstance(sid, int)
        and isinstance(request, httpcore.Request)
        and isinstance(getattr(conn, "_h2_state", None), h2.connection.H2Connection)
        and callable(getattr(conn, "_write_outgoing_data", None))
        and callable(getattr(conn, "aclose", None))
    ):
        return _H2Stream(connection=cast(_H2Connection, conn), stream_id=sid, request=request)
    return None


async def _sever(response: httpx.Response) -> None:
    """Last resort: close the transport under the response so the upstream sees a disconnect.

    On HTTP/2 this also kills any other stream multiplexed on that connection, which is why it is only
    used when the targeted reset is impossible.
    """
    closeable = _find_connection(response)
    if closeable is not None:
        # httpcore's connection.aclose() marks the connection CLOSED, so the pool drops it and the next
        # request opens a fresh one.
        await closeable.aclose()
    else:
        network = response.extensions.get("network_stream")
        if callable(getattr(network, "aclose", None)):
            # Public httpcore extension. The pool cannot see this close, so the next request on that
            # connection may fail once with a WriteError before httpcore retires it.
            await cast(_Closeable, network).aclose()
    await response.aclose()


def _find_connection(response: httpx.Response) -> _Closeable | None:
    """The httpcore connection behind ``response``, identified by its socket rather than h2 internals."""
    ext_network = response.extensions.get("network_stream")
    if ext_network is None:
        return None
    for obj in _walk_streams(response):
        conn = getattr(obj, "_connection", None)
        if callable(getattr(conn, "aclose", None)) and getattr(conn, "_network_stream", None) is ext_network:
            return cast(_Closeable, conn)
    return None


def _warn_fallback(reason: str) -> None:
    global _fallback_warned
    if _fallback_warned:
        logger.debug("abort_response fallback: %s", reason)
        return
    _fallback_warned = True
    logger.warning(
        "abort_response: %s (httpx %s, httpcore %s); closing the whole connection instead of resetting "
        "the stream. Cancellation still reaches the provider, but each abort now costs a new "
        "TCP+TLS handshake. (Logged once per process.)",
        reason,
        httpx.__version__,
        httpcore.__version__,
    )
