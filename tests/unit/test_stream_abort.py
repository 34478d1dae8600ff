"""abort_response against a real hypercorn server: HTTP/2 over TLS (ALPN h2) and plain HTTP/1.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpcore
import httpx
import pytest
from anyio._backends._asyncio import SocketStream
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from httpx._transports.default import AsyncResponseStream
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from spark_lsp.providers import stream_abort
from spark_lsp.providers.stream_abort import abort_response

# The "slow completion": 200 SSE-ish chunks 5 ms apart, i.e. about a second of generation.
SLOW = {"n": 200, "delay": 0.005, "size": 64}
# Generous: the disconnect normally lands within a few ms, but CI machines are shared and noisy.
DISCONNECT_WAIT = 2.0
ABORT_LOGGER = stream_abort.__name__


# --------------------------------------------------------------------------------------------------
# The server: an ASGI app that streams fixed-size chunks and records what it saw per request.
# --------------------------------------------------------------------------------------------------


@dataclass
class Served:
    rid: str
    client_port: int
    http_version: str
    chunks_sent: int = 0
    completed: bool = False
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class StreamingApp:
    """GET /?rid=..&n=..&delay=..&size=..: ``n`` chunks of ``size`` bytes, ``delay`` seconds apart."""

    def __init__(self) -> None:
        self.served: dict[str, Served] = {}

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        n, delay, size = int(query["n"]), float(query["delay"]), int(query["size"])
        assert scope["client"] is not None
        record = Served(rid=query["rid"], client_port=scope["client"][1], http_version=scope["http_version"])
        self.served[record.rid] = record

        while (message := await receive())["type"] == "http.request" and message["more_body"]:
            pass

        async def wait_for_disconnect() -> None:
            # Concurrent receive waiter: the only way an ASGI app learns the client went away.
            while (await receive())["type"] != "http.disconnect":
                pass
            record.disconnected.set()

        waiter = asyncio.create_task(wait_for_disconnect())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            for i in range(n):
                if record.disconnected.is_set():
                    return
                await send({"type": "http.response.body", "body": chunk(i, size), "more_body": True})
                record.chunks_sent += 1
                await asyncio.sleep(delay)  # also yields when delay == 0, so the loop is never starved
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            record.completed = True
        finally:
            waiter.cancel()
            record.finished.set()


def chunk(i: int, size: int) -> bytes:
    head = f"data: {i:06d} ".encode()
    return head + b"x" * (size - len(head) - 2) + b"\n\n"


@dataclass
class Server:
    app: StreamingApp
    url: str
    verify: ssl.SSLContext | bool
    http2: bool
    rids: int = 0

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(http2=self.http2, verify=self.verify, timeout=10.0)

    def params(self, **overrides: float) -> dict[str, str]:
        self.rids += 1
        merged: dict[str, float] = {**SLOW, **overrides}
        return {"rid": str(self.rids), **{k: str(v) for k, v in merged.items()}}

    async def open(self, client: httpx.AsyncClient, **overrides: float) -> tuple[httpx.Response, Served]:
        params = self.params(**overrides)
        response = await client.send(client.build_request("GET", self.url, params=params), stream=True)
        return response, self.app.served[params["rid"]]

    async def get(self, client: httpx.AsyncClient, **overrides: float) -> tuple[httpx.Response, Served]:
        params = self.params(**overrides)
        response = await client.get(self.url, params=params)
        return response, self.app.served[params["rid"]]


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and a client SSL context that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(cadata=cert_pem.decode())
    return TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem", context=context)


@contextlib.asynccontextmanager
async def run_server(tls: TlsFiles | None) -> AsyncIterator[Server]:
    app = StreamingApp()
    # Bind port 0 ourselves and hand hypercorn the fd: no free-port race, and the backlog queues
    # connections before hypercorn starts accepting, so no readiness polling is needed.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.graceful_timeout = 0.5
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)
    shutdown = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=shutdown.wait))
    scheme = "https" if tls else "http"
    try:
        yield Server(
            app=app,
            url=f"{scheme}://127.0.0.1:{port}/",
            verify=tls.context if tls else False,
            http2=tls is not None,
        )
    finally:
        shutdown.set()
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def h2_server(tls_files: TlsFiles) -> AsyncIterator[Server]:
    async with run_server(tls_files) as server:
        yield server


@pytest.fixture
async def h1_server() -> AsyncIterator[Server]:
    async with run_server(None) as server:
        yield server


@pytest.fixture
async def h2_client(h2_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with h2_server.client() as client:
        yield client


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


async def read_chunks(response: httpx.Response, count: int, size: int) -> AsyncIterator[bytes]:
    """Read at least ``count`` chunks, returning the still-open iterator (so nothing closes the body)."""
    parts = response.aiter_raw()
    received = 0
    while received < count * size:
        received += len(await anext(parts))
    return parts


async def wait(event: asyncio.Event, seconds: float = DISCONNECT_WAIT) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


def h2_connection(client: httpx.AsyncClient) -> Any:
    """White-box: the single httpcore AsyncHTTP2Connection in the client's pool."""
    transport: Any = client._transport
    connections = [c._connection for c in transport._pool.connections if c._connection is not None]
    assert len(connections) == 1, connections
    return connections[0]


def connection_window_leak(client: httpx.AsyncClient) -> int:
    """White-box: connection-level bytes received that will never be acknowledged (h2 WindowManager).

    max - current - processed is the number of received DATA bytes nobody has acknowledged yet; on an
    idle connection whose frames have all been parsed it must be 0, or the window shrinks for good.
    """
    manager = h2_connection(client)._h2_state._inbound_flow_control_window_manager
    return int(manager.max_window_size - manager.current_window_size - manager._bytes_processed)


async def assert_reused(server: Server, client: httpx.AsyncClient, first: Served) -> None:
    """The next request succeeds over the same TCP connection (same client port) and HTTP/2."""
    response, record = await server.get(client, n=3, delay=0)
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.content == b"".join(chunk(i, 64) for i in range(3))
    assert record.client_port == first.client_port, "a new connection was opened"


def warnings_from_abort(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ABORT_LOGGER and r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------------------------------
# 1. Baselines: document what httpx 0.28 / httpcore 1.0 do on their own.
# --------------------------------------------------------------------------------------------------


async def test_baseline_plain_aclose_over_http2_does_not_cancel_upstream(
    h2_server: Server, h2_client: httpx.AsyncClient
) -> None:
    """DOCUMENTS HTTPX BEHAVIOUR, not ours: aclose() on a partly read HTTP/2 stream sends no RST_STREAM.

    httpcore's HTTP2ConnectionByteStream.aclose() only drops the stream from its bookkeeping, so the
    server keeps generating to the end. If this test starts failing, httpx/httpcore now reset the
    stream themselves and abort_response's HTTP/2 path has become a belt-and-braces measure.
    """
    response, record = await h2_server.open(h2_client)
    assert response.http_version == "HTTP/2"
    await read_chunks(response, 2, 64)
    await response.aclose()

    assert await wait(record.finished, 10.0), "the server never finished the orphaned stream"
    assert not record.disconnected.is_set(), "httpx now resets HTTP/2 streams on aclose(): update docs"
    assert record.completed and record.chunks_sent == SLOW["n"]


async def test_baseline_plain_aclose_leaks_connection_flow_control_window(
    h2_server: Server, h2_client: httpx.AsyncClient
) -> None:
    """DOCUMENTS HTTPCORE BEHAVIOUR: DATA for a forgotten stream is dropped without being acknowledged.

    Each orphaned byte permanently shrinks the connection window (65535 + 2**24 from httpcore); once a
    long-lived connection has orphaned ~16 MiB, every stream on it stalls until a read timeout.
    """
    records = []
    for _ in range(4):
        response, record = await h2_server.open(h2_client, n=16, delay=0, size=16384)
        await read_chunks(response, 2, 16384)
        await response.aclose()
        records.append(record)
    # Small requests make the client read (and h2 parse) everything queued on the socket.
    for _ in range(200):
        await h2_server.get(h2_client, n=1, delay=0)
        if all(r.finished.is_set() for r in records):
            break
        await asyncio.sleep(0.01)
    await h2_server.get(h2_client, n=1, delay=0)
    assert all(r.completed for r in records)
    assert connection_window_leak(h2_client) >= 4 * 10 * 16384


# --------------------------------------------------------------------------------------------------
# 2. abort_response over HTTP/2
# --------------------------------------------------------------------------------------------------


async def test_abort_resets_http2_stream_and_keeps_connection(
    h2_server: Server, h2_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response, record = await h2_server.open(h2_client)
    await read_chunks(response, 2, 64)

    await abort_response(response)

    assert response.is_closed
    assert await wait(record.disconnected), "server did not see http.disconnect after RST_STREAM"
    assert await wait(record.finished)
    assert record.chunks_sent < SLOW["n"] // 2, record.chunks_sent
    assert not record.completed
    await assert_reused(h2_server, h2_client, record)
    assert connection_window_leak(h2_client) == 0
    await abort_response(response)  # idempotent
    assert warnings_from_abort(caplog) == []


@pytest.mark.parametrize("how", ["task.cancel", "anyio-scope"])
async def test_abort_from_a_task_being_cancelled(
    h2_server: Server, h2_client: httpx.AsyncClient, how: str
) -> None:
    """The consumer is blocked in the body iterator when cancelled; its finally block aborts.

    "task.cancel": asyncio delivers one CancelledError, which also makes httpcore forget the stream
    (HTTP2ConnectionByteStream.__aiter__ closes itself on BaseException) before our finally runs.
    "anyio-scope": a cancelled anyio scope re-raises CancelledError at *every* await inside it,
    including the ones in the finally block, so only a shielded abort gets its frame written.
    """
    holder: dict[str, Any] = {}
    got_two = asyncio.Event()

    async def consume() -> None:
        response, record = await h2_server.open(h2_client)
        holder["record"] = record
        received = 0
        try:
            async for part in response.aiter_raw():
                received += len(part)
                if received >= 2 * 64:
                    got_two.set()
        finally:
            await abort_response(response)

    async def consume_in_scope() -> None:
        with anyio.CancelScope() as scope:
            holder["scope"] = scope
            await consume()
        holder["caught"] = scope.cancelled_caught

    task = asyncio.create_task(consume() if how == "task.cancel" else consume_in_scope())
    assert await wait(got_two, 10.0)
    if how == "task.cancel":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10.0)
    else:
        holder["scope"].cancel()
        await asyncio.wait_for(task, 10.0)
        assert holder["caught"], "the re-raised CancelledError should reach the scope"

    record: Served = holder["record"]
    assert await wait(record.disconnected), "server did not see http.disconnect"
    assert record.chunks_sent < SLOW["n"] // 2, record.chunks_sent
    await assert_reused(h2_server, h2_client, record)
    assert connection_window_leak(h2_client) == 0


async def test_abort_from_an_async_generators_finally(
    h2_server: Server, h2_client: httpx.AsyncClient
) -> None:
    """The provider's shape: a generator yields pieces and aborts in ``finally`` when closed early."""
    records: list[Served] = []

    async def pieces() -> AsyncGenerator[bytes]:
        response, record = await h2_server.open(h2_client)
        records.append(record)
        finished = False
        try:
            async for part in response.aiter_raw():
                yield part
            finished = True
        finally:
            if not finished:
                await abort_response(response)

    generator = pieces()
    for _ in range(2):
        await anext(generator)
    await generator.aclose()  # the consumer stopped early (GeneratorExit at the yield)

    assert await wait(records[0].disconnected)
    assert records[0].chunks_sent < SLOW["n"] // 2
    await assert_reused(h2_server, h2_client, records[0])
    assert connection_window_leak(h2_client) == 0


async def test_many_aborts_then_large_body_on_same_connection(
    h2_server: Server, h2_client: httpx.AsyncClient
) -> None:
    """50 aborted fast streams (DATA still in flight when the reset lands), then a 1 MiB body.

    Frames that arrive for a stream we reset are acknowledged by h2 itself (connection window only,
    H2Connection._handle_data_on_closed_stream); the ones httpcore had queued or dropped are
    acknowledged by abort_response. The window accounting must come out exact.
    """
    size = 16384
    records, slow = [], []
    for i in range(50):
        # Alternate: delay 0 finishes generating before the reset lands (the rest of the 1 MiB is
        # still in flight); 2 ms per chunk makes the reset land mid-generation.
        delay = 0.002 if i % 2 else 0
        response, record = await h2_server.open(h2_client, n=64, delay=delay, size=size)
        await read_chunks(response, 2, size)
        await abort_response(response)
        records.append(record)
        if delay:
            slow.append(record)

    response, big = await h2_server.get(h2_client, n=64, delay=0, size=size)
    assert response.status_code == 200
    assert len(response.content) == 64 * size > 64 * 1024
    assert response.content == b"".join(chunk(i, size) for i in range(64))
    assert {r.client_port for r in records} == {big.client_port}, "connection was not reused"
    assert connection_window_leak(h2_client) == 0
    for record in records:  # none of the aborted generations is still running
        assert await wait(record.finished)
    assert any(r.disconnected.is_set() for r in slow), "no reset landed mid-generation"


async def test_abort_returns_window_of_data_httpcore_dropped_after_a_cancel(
    h2_server: Server, h2_client: httpx.AsyncClient
) -> None:
    """Cancelling the reader makes httpcore forget the stream at once (no reset). Until abort_response
    runs, any other stream's reader on the connection parses this stream's DATA and httpcore drops it
    unacknowledged; abort_response must hand that window back too (from h2's per-stream accounting,
    since the events themselves are gone)."""
    size = 16384
    # A second, slow stream whose reader keeps parsing the socket; it ends on its own (cancelling it
    # could break the TLS stream, see test_cancelling_a_reader_mid_write_breaks_the_connection).
    background, background_record = await h2_server.open(h2_client, n=80)
    background_reader = asyncio.create_task(background.aread())
    got_two = asyncio.Event()
    response, record = await h2_server.open(h2_client, n=64, delay=0.002, size=size)

    async def consume() -> None:
        received = 0
        try:
            async for part in response.aiter_raw():
                received += len(part)
                if received >= 2 * size:
                    got_two.set()
        finally:
            await asyncio.sleep(0.1)  # e.g. other cleanup; the background reader keeps parsing frames
            await abort_response(response)

    task = asyncio.create_task(consume())
    assert await wait(got_two, 10.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10.0)
    assert await wait(record.disconnected)
    assert not record.completed

    assert len(await asyncio.wait_for(background_reader, 10.0)) == 80 * 64
    assert background_record.completed
    await assert_reused(h2_server, h2_client, record)
    assert connection_window_leak(h2_client) == 0


async def test_cancelling_a_reader_mid_write_breaks_the_connection(
    h2_server: Server, h2_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCUMENTS ANYIO/HTTPCORE BEHAVIOUR: a reader task also writes (acks, h2's automatic RST_STREAM for
    DATA that arrives on a reset stream). If task.cancel() lands during such a write, anyio's TLSStream
    marks itself broken for good (anyio/streams/tls.py, _flush_write_bio) and the connection is lost
    whatever we do. abort_response then cannot write the reset: it closes the connection instead,
    without raising, so the upstream still sees the disconnect and the pool drops the dead connection.
    """
    original_send = SocketStream.send
    reader: list[asyncio.Task[None]] = []
    in_write = asyncio.Event()

    async def stalled_send(self: SocketStream, item: bytes) -> None:
        if reader and asyncio.current_task() is reader[0]:
            # As if the socket buffer were full: the reader waits inside TLSStream._flush_write_bio,
            # which is where the cancellation lands.
            in_write.set()
            await asyncio.Event().wait()
        await original_send(self, item)

    monkeypatch.setattr(SocketStream, "send", stalled_send)
    fast, _ = await h2_server.open(h2_client, n=64, delay=0, size=16384)
    slow, slow_record = await h2_server.open(h2_client)

    async def consume() -> None:
        try:
            async for _ in slow.aiter_raw():
                pass
        finally:
            await abort_response(slow)

    await read_chunks(fast, 2, 16384)
    await abort_response(fast)  # the late DATA of `fast` will make the reader write RST_STREAM frames
    reader.append(asyncio.create_task(consume()))
    assert await wait(in_write, 10.0)
    reader[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reader[0], 10.0)

    assert await wait(slow_record.disconnected), "the upstream did not see the disconnect"
    response, next_record = await h2_server.get(h2_client, n=3, delay=0)
    assert response.status_code == 200
    assert next_record.client_port != slow_record.client_port


async def test_abort_of_finished_response_is_a_harmless_noop(
    h2_server: Server, h2_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=ABORT_LOGGER)

    # Fully read (client.get) and fully iterated: the response is closed, nothing happens.
    response, first = await h2_server.get(h2_client, n=3, delay=0)
    await abort_response(response)
    streamed, _ = await h2_server.open(h2_client, n=3, delay=0)
    assert len(b"".join([part async for part in streamed.aiter_raw()])) == 3 * 64
    assert streamed.is_closed
    await abort_response(streamed)

    # Ended on the wire but never read: h2 already considers the stream closed, so resetting it
    # raises StreamClosedError inside h2. abort_response skips the reset and only hands back the
    # connection window of the unread data httpcore had queued (plain aclose() would leak it).
    unread, unread_record = await h2_server.open(h2_client, n=3, delay=0)
    assert await wait(unread_record.finished)
    await h2_server.get(h2_client, n=1, delay=0)  # the client parses the unread stream's frames
    await abort_response(unread)

    assert unread.is_closed
    assert unread_record.completed and not unread_record.disconnected.is_set()
    assert any("not reset" in r.getMessage() for r in caplog.records if r.name == ABORT_LOGGER)
    assert warnings_from_abort(caplog) == []
    await assert_reused(h2_server, h2_client, first)
    assert connection_window_leak(h2_client) == 0


async def test_abort_is_bounded_when_the_connection_is_wedged(
    h2_server: Server, h2_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """If the reset cannot be written in time (another writer holds httpcore's write lock, as when a
    large upload is stuck on a full socket), abort gives up after time_limit and severs the connection."""
    response, record = await h2_server.open(h2_client)
    await read_chunks(response, 2, 64)
    loop = asyncio.get_running_loop()
    async with h2_connection(h2_client)._write_lock:  # white-box: httpcore's AsyncHTTP2Connection lock
        started = loop.time()
        await abort_response(response, time_limit=0.2)
        elapsed = loop.time() - started

    assert 0.15 < elapsed < 2.0, elapsed
    assert response.is_closed
    assert await wait(record.disconnected), "the severed connection was not noticed"
    assert any("took over" in r.getMessage() for r in warnings_from_abort(caplog))
    response, next_record = await h2_server.get(h2_client, n=3, delay=0)
    assert response.status_code == 200
    assert next_record.client_port != record.client_port


# --------------------------------------------------------------------------------------------------
# 3. Fallbacks when httpx/httpcore internals change
# --------------------------------------------------------------------------------------------------


async def test_fallback_closes_connection_when_h2_internals_are_missing(
    h2_server: Server,
    h2_client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream_abort, "_fallback_warned", False)
    response, record = await h2_server.open(h2_client)
    await read_chunks(response, 2, 64)
    with monkeypatch.context() as patch:
        # As if a future httpcore renamed its write helper: the connection is found, the reset isn't possible.
        patch.delattr(httpcore._async.http2.AsyncHTTP2Connection, "_write_outgoing_data")
        await abort_response(response)

    assert await wait(record.disconnected), "fallback did not disconnect"
    (warning,) = warnings_from_abort(caplog)
    assert warning.getMessage().startswith("abort_response: could not find")
    # The closed connection left the pool; the next request opens a new one and works.
    response, next_record = await h2_server.get(h2_client, n=3, delay=0)
    assert response.status_code == 200
    assert next_record.client_port != record.client_port


async def test_fallback_closes_socket_when_httpcore_cannot_be_reached(
    h2_server: Server,
    h2_client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As if httpx renamed AsyncResponseStream._httpcore_stream: only the public extensions are left."""
    monkeypatch.setattr(stream_abort, "_fallback_warned", False)

    def init(self: Any, httpcore_stream: Any) -> None:
        self._core = httpcore_stream

    async def aiter(self: Any) -> AsyncIterator[bytes]:
        async for part in self._core:
            yield part

    async def aclose(self: Any) -> None:
        await self._core.aclose()

    monkeypatch.setattr(AsyncResponseStream, "__init__", init)
    monkeypatch.setattr(AsyncResponseStream, "__aiter__", aiter)
    monkeypatch.setattr(AsyncResponseStream, "aclose", aclose)

    records = []
    for _ in range(2):
        async with h2_server.client() as client:
            response, record = await h2_server.open(client)
            await read_chunks(response, 2, 64)
            await abort_response(response)
            records.append(record)
    for record in records:
        assert await wait(record.disconnected), "fallback did not disconnect"
    assert len(warnings_from_abort(caplog)) == 1, "the fallback warning is logged once per process"


# --------------------------------------------------------------------------------------------------
# 4. HTTP/1.1
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("close", ["abort_response", "plain aclose"])
async def test_http11_close_disconnects(h1_server: Server, close: str) -> None:
    """Over HTTP/1.1 closing a partly read body closes the connection (httpcore never reuses it)."""
    async with h1_server.client() as client:
        response, record = await h1_server.open(client)
        assert response.http_version == "HTTP/1.1"
        await read_chunks(response, 2, 64)
        if close == "abort_response":
            await abort_response(response)
        else:
            await response.aclose()

        assert await wait(record.disconnected), "server did not see the disconnect"
        assert record.chunks_sent < SLOW["n"] // 2
        response, next_record = await h1_server.get(client, n=3, delay=0)
        assert response.status_code == 200
        assert next_record.client_port != record.client_port, "HTTP/1.1 pays for a new connection"
