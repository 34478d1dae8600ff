"""Every scripted fault of the simulator does what routing tests will rely on."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cerebras.cloud.sdk import APIError, AsyncCerebras, AsyncStream, RateLimitError

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.server import RunningSim, sim_running

MODEL = "sim-spark-coder"
AUTH = {"authorization": "Bearer test-key"}
# Every word is one token, so token counts map to words.
LONG_TEXT = " ".join(["one two three four five six seven eight nine ten"] * 3)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with sim_running(SimConfig(profile="instant")) as running:
        yield running


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as client:
        yield client


async def script(http: httpx.AsyncClient, fault: dict[str, Any], **extra: Any) -> None:
    entry = {"text": LONG_TEXT, "fault": fault, **extra}
    response = await http.post("/sim/script", json={"responses": [entry]})
    assert response.status_code == 200, response.text


def sdk(sim: RunningSim) -> AsyncCerebras:
    return AsyncCerebras(base_url=sim.url, api_key="x", warm_tcp_connection=False, max_retries=0)


async def last_record(http: httpx.AsyncClient) -> dict[str, Any]:
    records = (await http.get("/sim/requests")).json()
    return dict(records[-1])


def stream_body(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "prompt": "x", "stream": True, **extra}


async def test_status_fault_429_with_retry_headers(sim: RunningSim, http: httpx.AsyncClient) -> None:
    fault = {
        "type": "status",
        "status": 429,
        "retry_after_s": 2,
        "retry_after_ms": 1500,
        "ratelimit_headers": {"x-ratelimit-remaining-tokens-minute": "0"},
    }
    await script(http, fault)
    response = await http.post("/v1/completions", json=stream_body())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    assert response.headers["x-ratelimit-remaining-tokens-minute"] == "0"
    assert response.json()["error"]["type"] == "too_many_requests_error"
    record = await last_record(http)
    assert (record["outcome"], record["status"], record["tokens_sent"]) == ("fault", 429, 0)

    await script(http, {"type": "status", "status": 429})
    async with sdk(sim) as client:
        with pytest.raises(RateLimitError):
            await client.completions.create(model=MODEL, prompt="x")


async def test_status_fault_503(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "status", "status": 503})
    response = await http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user"}]})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_stall_before_first_token(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "stall_before_first_token", "ms": 150})
    started = time.monotonic()
    arrivals: list[float] = []
    async with http.stream("POST", "/v1/completions", json=stream_body()) as response:
        headers_at = time.monotonic() - started
        async for _ in response.aiter_raw():
            arrivals.append(time.monotonic() - started)
    first_at = arrivals[0]
    assert headers_at < 0.1 <= 0.14 <= first_at
    assert (await last_record(http))["outcome"] == "completed"


async def test_stall_mid_stream(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "stall_mid_stream", "after_tokens": 3, "ms": 150})
    arrivals: list[tuple[float, bytes]] = []
    started = time.monotonic()
    async with http.stream("POST", "/v1/completions", json=stream_body()) as response:
        async for raw in response.aiter_raw():
            arrivals.append((time.monotonic() - started, raw))
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(arrivals)]
    assert max(gaps) >= 0.14
    before_gap = b"".join(raw for _, raw in arrivals[: gaps.index(max(gaps)) + 1])
    assert b'" three"' in before_gap and b'" four"' not in before_gap
    record = await last_record(http)
    assert record["outcome"] == "completed" and record["tokens_sent"] == record["tokens_planned"]


async def test_malformed_sse(sim: RunningSim, http: httpx.AsyncClient) -> None:
    await script(http, {"type": "malformed_sse", "after_tokens": 2})
    async with http.stream("POST", "/v1/completions", json=stream_body()) as response:
        body = (await response.aread()).decode()
    events = [event.removeprefix("data: ") for event in body.split("\n\n") if event]
    assert "[DONE]" not in events
    json.loads(events[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[-1])
    record = await last_record(http)
    assert (record["outcome"], record["tokens_sent"]) == ("fault", 2)

    await script(http, {"type": "malformed_sse", "after_tokens": 1})
    async with sdk(sim) as client:
        stream = await client.completions.create(model=MODEL, prompt="x", stream=True)
        assert isinstance(stream, AsyncStream)
        with pytest.raises(json.JSONDecodeError):
            async for _ in stream:
                pass


async def test_error_event(sim: RunningSim, http: httpx.AsyncClient) -> None:
    await script(http, {"type": "error_event", "after_tokens": 2})
    async with http.stream("POST", "/v1/completions", json=stream_body()) as response:
        body = (await response.aread()).decode()
    events = [json.loads(event.removeprefix("data: ")) for event in body.split("\n\n") if event]
    assert "error" in events[-1] and events[-1]["error"]["message"]
    assert all("choices" in event for event in events[:-1])
    record = await last_record(http)
    assert (record["outcome"], record["tokens_sent"]) == ("fault", 2)

    await script(http, {"type": "error_event", "after_tokens": 1}, endpoint="chat")
    async with sdk(sim) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
        )
        assert isinstance(stream, AsyncStream)
        with pytest.raises(APIError, match="mid-stream"):
            async for _ in stream:
                pass


async def test_drop_connection_http1(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "drop_connection", "after_tokens": 3})
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        async with http.stream("POST", "/v1/completions", json=stream_body()) as response:
            async for raw in response.aiter_raw():
                received += raw
    assert b'" three"' in received and b'" four"' not in received and b"[DONE]" not in received
    record = await last_record(http)
    assert (record["outcome"], record["tokens_sent"], record["fault"]) == ("fault", 3, "DropConnection")


async def test_drop_connection_non_streaming(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "drop_connection", "after_tokens": 0})
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("/v1/completions", json={"model": MODEL, "prompt": "x"})
    assert (await last_record(http))["outcome"] == "fault"


async def test_faults_in_non_streaming_responses(http: httpx.AsyncClient) -> None:
    await script(http, {"type": "error_event", "after_tokens": 1})
    response = await http.post("/v1/completions", json={"model": MODEL, "prompt": "x"})
    assert response.status_code == 500 and response.json()["error"]
    await script(http, {"type": "malformed_sse", "after_tokens": 1})
    response = await http.post("/v1/completions", json={"model": MODEL, "prompt": "x"})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_fault_mix_parsing_and_draws() -> None:
    import random

    from spark_lsp.sim.fault_mix import draw_fault, parse_fault_mix
    from spark_lsp.sim.faults import StallBeforeFirstToken, StatusFault

    mix = parse_fault_mix(
        '[{"probability": 0.2, "fault": {"type": "status", "status": 429}},'
        ' {"probability": 0.05, "fault": {"type": "stall_before_first_token", "ms": 900}}]'
    )
    rng = random.Random(7)
    draws = [draw_fault(mix, rng) for _ in range(20_000)]
    rate_limited = sum(isinstance(d, StatusFault) for d in draws) / len(draws)
    stalled = sum(isinstance(d, StallBeforeFirstToken) for d in draws) / len(draws)
    assert 0.18 < rate_limited < 0.22 and 0.04 < stalled < 0.06
    for bad in (
        '{"x": 1}',
        '[{"probability": 2, "fault": {"type": "status", "status": 429}}]',
        '[{"probability": 0.7, "fault": {"type": "status", "status": 429}},'
        ' {"probability": 0.7, "fault": {"type": "status", "status": 500}}]',
    ):
        try:
            parse_fault_mix(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
