"""Transport behaviour of the simulator: TLS + HTTP/2, disconnects, stream resets, latency and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import httpx
import pytest

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.server import RunningSim, sim_running

MODEL = "sim-spark-coder"
AUTH = {"authorization": "Bearer test-key"}
# About 200 one-word tokens.
LONG_TEXT = " ".join(["one two three four five six seven eight nine ten"] * 20)


@pytest.fixture
async def tls_sim() -> AsyncIterator[RunningSim]:
    async with sim_running(SimConfig(profile="instant", tls=True)) as running:
        yield running


def trust(sim: RunningSim) -> ssl.SSLContext:
    assert sim.cert_path is not None
    context = ssl.create_default_context(cafile=str(sim.cert_path))
    # Python 3.13 turns strict checking on by default; the certificate must pass it already.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


async def control(sim: RunningSim) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sim.url, verify=trust(sim) if sim.cert_path else True)


async def script(sim: RunningSim, **entry: Any) -> None:
    async with await control(sim) as client:
        response = await client.post("/sim/script", json={"responses": [entry]})
        assert response.status_code == 200, response.text


async def records(sim: RunningSim) -> list[dict[str, Any]]:
    async with await control(sim) as client:
        return list((await client.get("/sim/requests")).json())


async def wait_for(sim: RunningSim, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The newest record matching ``predicate``, polling for up to two seconds."""
    deadline = time.monotonic() + 2.0
    while True:
        found = [record for record in await records(sim) if predicate(record)]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, await records(sim)
        await asyncio.sleep(0.02)


async def test_tls_http2_with_httpx(tls_sim: RunningSim) -> None:
    assert tls_sim.url.startswith("https://127.0.0.1:")
    await script(tls_sim, text="over h2")
    async with httpx.AsyncClient(http2=True, verify=trust(tls_sim), headers=AUTH) as client:
        body = {"model": MODEL, "prompt": "x", "stream": True}
        async with client.stream("POST", f"{tls_sim.url}/v1/completions", json=body) as response:
            assert response.http_version == "HTTP/2"
            text = (await response.aread()).decode()
        assert '"over"' in text and text.endswith("data: [DONE]\n\n")
        models = await client.get(f"{tls_sim.url}/v1/models")
        assert models.json()["data"][0]["id"] == MODEL
    record = (await records(tls_sim))[-1]
    assert record["http_version"] == "2" and record["outcome"] == "completed"


async def test_http1_client_disconnect_is_recorded() -> None:
    async with sim_running(SimConfig(profile="instant")) as sim:
        await script(sim, text=LONG_TEXT, tokens_per_second=200)
        async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as client:
            body = {"model": MODEL, "prompt": "x", "stream": True}
            async with client.stream("POST", "/v1/completions", json=body) as response:
                async for raw in response.aiter_raw():
                    if b'"text"' in raw:
                        break
            # Leaving the block closes an unfinished HTTP/1.1 response by closing its connection.
        record = await wait_for(sim, lambda r: r["outcome"] != "in_progress")
        assert record["outcome"] == "client_disconnected"
        assert 0 < record["tokens_sent"] < record["tokens_planned"]
        sent = record["tokens_sent"]
        await asyncio.sleep(0.1)
        assert (await records(sim))[-1]["tokens_sent"] == sent, "generation must stop on disconnect"


async def test_non_streaming_request_abandoned_by_client_timeout() -> None:
    async with sim_running(SimConfig(profile="instant")) as sim:
        await script(sim, text=LONG_TEXT, tokens_per_second=100)
        async with httpx.AsyncClient(base_url=sim.url, headers=AUTH, timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/v1/completions", json={"model": MODEL, "prompt": "x"})
        record = await wait_for(sim, lambda r: r["outcome"] != "in_progress")
        assert record["outcome"] == "client_disconnected"
        assert record["status"] is None and 0 < record["tokens_sent"] < record["tokens_planned"]


class RawH2:
    """A bare HTTP/2 client, because httpx never sends RST_STREAM when a response is closed early."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, window: int | None
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.data: dict[int, bytes] = {}
        self.ended: set[int] = set()

    @classmethod
    async def connect(cls, sim: RunningSim, window: int | None = None) -> RawH2:
        context = trust(sim)
        context.set_alpn_protocols(["h2"])
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", sim.port, ssl=context, server_hostname="127.0.0.1"
        )
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
        client = cls(reader, writer, window)
        await client.flush()
        return client

    async def flush(self) -> None:
        self.writer.write(self.conn.data_to_send())
        await self.writer.drain()

    async def post(self, path: str, body: dict[str, Any]) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "127.0.0.1"),
            (":path", path),
            ("authorization", "Bearer x"),
            ("content-type", "application/json"),
        ]
        self.conn.send_headers(stream_id, headers)
        self.conn.send_data(stream_id, json.dumps(body).encode(), end_stream=True)
        self.data[stream_id] = b""
        await self.flush()
        return stream_id

    async def read_until(self, done: Callable[[], bool], *, ack: bool = True) -> None:
        while not done():
            chunk = await asyncio.wait_for(self.reader.read(65536), 2.0)
            assert chunk, "server closed the connection"
            for event in self.conn.receive_data(chunk):
                if isinstance(event, h2.events.DataReceived):
                    self.data[event.stream_id] += event.data
                    if ack:
                        self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
            await self.flush()

    async def reset(self, stream_id: int) -> None:
        self.conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
        await self.flush()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


async def test_http2_rst_stream_is_recorded_as_client_disconnect(tls_sim: RunningSim) -> None:
    await script(tls_sim, text=LONG_TEXT, tokens_per_second=200, repeat=2)
    client = await RawH2.connect(tls_sim)
    try:
        body = {"model": MODEL, "prompt": "x", "stream": True}
        first = await client.post("/v1/completions", body)
        await client.read_until(lambda: b'"text"' in client.data[first])
        await client.reset(first)
        record = await wait_for(tls_sim, lambda r: r["outcome"] != "in_progress")
        assert record["outcome"] == "client_disconnected"
        assert record["http_version"] == "2"
        assert 0 < record["tokens_sent"] < record["tokens_planned"]
        # Only the stream was cancelled: the same connection still serves the next request.
        second = await client.post("/v1/completions", {**body, "max_tokens": 5})
        await client.read_until(lambda: second in client.ended)
        assert client.data[second].endswith(b"data: [DONE]\n\n")
        done = await records(tls_sim)
        assert done[-1]["outcome"] == "completed" and done[-1]["client"] == record["client"]
    finally:
        await client.close()


async def test_http2_client_that_stops_reading_is_not_a_disconnect(tls_sim: RunningSim) -> None:
    # A tiny flow-control window that is never re-opened: the server cannot deliver, yet the model
    # goes on generating, exactly as a real upstream does.
    await script(tls_sim, text=LONG_TEXT, tokens_per_second=1000)
    client = await RawH2.connect(tls_sim, window=1024)
    try:
        stream_id = await client.post("/v1/completions", {"model": MODEL, "prompt": "x", "stream": True})
        await client.read_until(lambda: len(client.data[stream_id]) > 0, ack=False)
        record = await wait_for(tls_sim, lambda r: r["generation_ended_at"] is not None)
        assert record["tokens_sent"] == record["tokens_planned"]
        assert record["outcome"] == "in_progress"  # generated, but stuck behind flow control
        await asyncio.sleep(0.1)
        assert (await records(tls_sim))[-1]["outcome"] == "in_progress"
        # Resetting the stream now is a disconnect after the model already finished.
        await client.reset(stream_id)
        record = await wait_for(tls_sim, lambda r: r["outcome"] != "in_progress")
        assert record["outcome"] == "client_disconnected"
        assert record["tokens_sent"] == record["tokens_planned"]
    finally:
        await client.close()


async def test_httpx_http2_idle_reader_keeps_generation_going(tls_sim: RunningSim) -> None:
    await script(tls_sim, text=LONG_TEXT, tokens_per_second=1000)
    async with httpx.AsyncClient(http2=True, verify=trust(tls_sim), headers=AUTH) as client:
        body = {"model": MODEL, "prompt": "x", "stream": True}
        async with client.stream("POST", f"{tls_sim.url}/v1/completions", json=body) as response:
            async for _ in response.aiter_raw():
                break
            record = await wait_for(tls_sim, lambda r: r["generation_ended_at"] is not None)
            assert record["outcome"] != "client_disconnected"
            assert record["tokens_sent"] == record["tokens_planned"]


async def test_drop_connection_over_http2(tls_sim: RunningSim) -> None:
    await script(tls_sim, text=LONG_TEXT, fault={"type": "drop_connection", "after_tokens": 2})
    async with httpx.AsyncClient(http2=True, verify=trust(tls_sim), headers=AUTH) as client:
        body = {"model": MODEL, "prompt": "x", "stream": True}
        with pytest.raises(httpx.TransportError):
            async with client.stream("POST", f"{tls_sim.url}/v1/completions", json=body) as response:
                await response.aread()
    record = (await records(tls_sim))[-1]
    assert (record["outcome"], record["tokens_sent"]) == ("fault", 2)


async def timed_stream(sim: RunningSim, max_tokens: int) -> tuple[float, int]:
    """Seconds to stream a scripted answer, and how many SSE events it came in."""
    await script(sim, text=LONG_TEXT)
    async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as client:
        body = {"model": "m", "prompt": "x", "stream": True, "max_tokens": max_tokens}
        started = time.monotonic()
        async with client.stream("POST", "/v1/completions", json=body) as response:
            text = (await response.aread()).decode()
        return time.monotonic() - started, text.count("data: ")


async def test_latency_profiles_are_respected() -> None:
    async with sim_running(SimConfig(profile="instant", models=("m",))) as instant:
        instant_s, _ = await timed_stream(instant, 60)
    async with sim_running(SimConfig(profile="gpu", models=("m",), seed=1)) as gpu:
        gpu_s, _ = await timed_stream(gpu, 15)
    # gpu: ~300 ms to the first token, then 14 more at 60 tokens/s.
    assert gpu_s > 0.35
    assert gpu_s > 5 * instant_s
    async with sim_running(SimConfig(profile="spark", models=("m",), tokens_per_second=2000)) as fast:
        fast_s, events = await timed_stream(fast, 200)
    # ~60 ms + 200 tokens at 2000/s; due tokens are merged into fewer events than tokens.
    assert fast_s > 0.1
    assert events < 200


async def test_cli_main_prints_listening_line(tmp_path: Path) -> None:
    cert = tmp_path / "sim.pem"
    code = "import sys; from spark_lsp.sim.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["--profile", "instant", "--tls", "--cert-out", str(cert), "--model", "a", "--model", "b"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, *args, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        event = json.loads(line)
        assert event["event"] == "listening"
        assert event["url"].startswith("https://127.0.0.1:")
        assert event["cert"] == str(cert) and cert.exists()
        assert (event["profile"], event["models"]) == ("instant", ["a", "b"])
        context = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(verify=context, headers=AUTH) as client:
            models = (await client.get(f"{event['url']}/v1/models")).json()
        assert [model["id"] for model in models["data"]] == ["a", "b"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_a_connection_serves_more_than_a_thousand_requests(tls_sim: RunningSim) -> None:
    # hypercorn's default closes the connection at request 1001 and drops that request.
    body = {"model": MODEL, "prompt": "x", "max_tokens": 2, "stream": True}
    completed = 0
    async with httpx.AsyncClient(http2=True, verify=trust(tls_sim), headers=AUTH) as client:
        for _ in range(1005):
            async with client.stream("POST", f"{tls_sim.url}/v1/completions", json=body) as response:
                await response.aread()
                completed += response.status_code == 200
    assert completed == 1005
    assert tls_sim.state.log.stats()["connections"] == 1
