"""The simulator's delaying proxy: a network's round-trip on loopback, with every byte intact and in order."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.delay_proxy import DelayProxy
from spark_lsp.sim.server import sim_running

RTT_S = 0.08


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[DelayProxy]:
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = int(echo.sockets[0].getsockname()[1])
    delaying = DelayProxy("127.0.0.1", port, RTT_S)
    await delaying.start()
    try:
        yield delaying
    finally:
        await delaying.close()
        echo.close()
        await echo.wait_closed()


async def _read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), 10)


async def test_the_first_exchange_pays_the_handshake_and_later_ones_a_round_trip(proxy: DelayProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    started = time.monotonic()
    writer.write(b"hello")
    assert await _read_exactly(reader, 5) == b"hello"
    # A real connect waits a round-trip for the TCP handshake before the first byte may leave.
    assert time.monotonic() - started >= 2 * RTT_S

    started = time.monotonic()
    writer.write(b"again")
    assert await _read_exactly(reader, 5) == b"again"
    assert time.monotonic() - started >= RTT_S
    writer.close()


async def test_a_large_stream_passes_intact_and_in_order(proxy: DelayProxy) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB, far more than the proxy's queues hold
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)

    async def send() -> None:
        for start in range(0, len(payload), 50_000):
            writer.write(payload[start : start + 50_000])
            await writer.drain()
        writer.write_eof()

    sending = asyncio.ensure_future(send())
    received = await asyncio.wait_for(reader.read(-1), 30)  # to the end: the echo closes after our EOF
    await sending
    assert received == payload
    writer.close()


async def test_closing_the_proxy_cuts_its_connections(proxy: DelayProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    assert await _read_exactly(reader, 1) == b"x"
    await proxy.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_the_simulator_with_a_round_trip_answers_through_the_proxy() -> None:
    async with sim_running(SimConfig(profile="instant", tls=True, rtt_ms=RTT_S * 1000)) as sim:
        assert sim.cert_path is not None
        assert sim.listening_event()["rttMs"] == RTT_S * 1000
        context = ssl.create_default_context(cafile=str(sim.cert_path))
        async with httpx.AsyncClient(http2=True, verify=context) as client:
            started = time.monotonic()
            first = await client.get(f"{sim.url}/v1/models", headers={"authorization": "Bearer k"})
            cold = time.monotonic() - started
            started = time.monotonic()
            second = await client.get(f"{sim.url}/v1/models", headers={"authorization": "Bearer k"})
            warm = time.monotonic() - started
        assert first.status_code == second.status_code == 200
        assert first.http_version == "HTTP/2"
        # TCP, TLS 1.3, then the request: three round-trips on a new connection, one on a warm one.
        assert cold >= 3 * RTT_S
        assert warm >= RTT_S
