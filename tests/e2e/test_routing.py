"""End to end: every upstream fault on the fast tier is answered by the GPU tier, or cleanly by nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.e2e.conftest import (
    GPU_MODEL,
    StartClient,
    counter,
    inline_params,
    open_document,
    server_env,
    stats,
    two_tiers,
)
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

URI = "file:///work/route.py"
OTHER_URI = "file:///work/other.py"
TEXT = "def add(a, b):\n    return \n"
FAST_ANSWER = {"text": "a + b  # fast", "repeat": -1}
GPU_ANSWER = {"text": "a + b  # gpu", "repeat": -1}
# Short deadlines keep the tests quick; the logic is the same as with the defaults.
# No prefetch: each test counts the requests it makes itself.
ROUTING = {
    "routing": {"deadlines": {"inline": {"firstTokenMs": 400, "totalMs": 2500}}},
    "keepWarmS": 0,
    "inline": {"prefetch": False},
}


async def _complete(client: Any, uri: str = URI) -> list[str]:
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
    return [] if result is None else [str(item.insert_text) for item in result.items]


async def _answer_after_fault(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient, fault: dict[str, Any], options: Any = None
) -> tuple[Any, list[str], float]:
    sim.script({"text": "a + b  # fast", "fault": fault}, FAST_ANSWER)
    gpu.script(GPU_ANSWER)
    client = await start_client(two_tiers(sim, gpu), options=options or ROUTING)
    open_document(client, URI, TEXT)
    started = time.monotonic()
    items = await _complete(client)
    return client, items, time.monotonic() - started


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"type": "status", "status": 500}, "server_error"),
        ({"type": "status", "status": 503}, "server_error"),
        ({"type": "stall_before_first_token", "ms": 5000}, "timeout"),
        ({"type": "stall_mid_stream", "after_tokens": 2, "ms": 5000}, "timeout"),
        ({"type": "malformed_sse", "after_tokens": 1}, "protocol"),
        ({"type": "error_event", "after_tokens": 1}, "server_error"),
        ({"type": "drop_connection", "after_tokens": 1}, "connection"),
        (
            {"type": "status", "status": 400, "message": "context_length_exceeded: prompt too long"},
            "context_too_long",
        ),
    ],
    ids=lambda value: value["type"] + str(value.get("status", "")) if isinstance(value, dict) else value,
)
async def test_a_fast_tier_fault_is_answered_by_the_gpu_tier(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient, fault: dict[str, Any], error: str
) -> None:
    client, items, elapsed = await _answer_after_fault(sim, gpu, start_client, fault)

    assert items == ["a + b  # gpu"]
    assert elapsed < 2.5 + 1.0  # within the deadline, plus generous slack for a loaded machine
    report = await stats(client)
    assert counter(report, f"errors.{error}") == 1
    assert counter(report, "inline.fallbacks") == 1
    assert counter(report, "inline.answeredBy.gpu") == 1
    if fault["type"] == "stall_before_first_token":
        # The 400 ms spent waiting on the stalled tier is the provider's time, not the server's.
        assert report["latencyMs"]["inline"]["overhead"]["p99"] < 200
    # The fast tier's stream, if it started, was closed rather than left generating.
    await asyncio.to_thread(
        sim.wait_for, lambda records: all(r["outcome"] != "in_progress" for r in records), 3.0
    )
    # The server keeps serving: the next request (elsewhere: no cache) goes to the fast tier again.
    open_document(client, OTHER_URI, TEXT)
    assert await _complete(client, OTHER_URI) == ["a + b  # fast"]


async def test_rate_limited_fast_tier_is_left_alone_until_retry_after(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    client, items, _ = await _answer_after_fault(
        sim, gpu, start_client, {"type": "status", "status": 429, "retry_after_s": 30}
    )
    assert items == ["a + b  # gpu"]
    open_document(client, OTHER_URI, TEXT)
    assert await _complete(client, OTHER_URI) == ["a + b  # gpu"]
    assert len(sim.completion_requests()) == 1  # not asked again while rate-limited
    report = await stats(client)
    assert counter(report, "errors.rate_limited") == 1
    assert report["tiers"]["fast"]["state"] == "degraded"
    assert report["tiers"]["fast"]["rateLimitedForS"] > 25


async def test_spent_rate_limit_budget_in_headers_pauses_the_tier(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    sim.script(FAST_ANSWER)
    gpu.script(GPU_ANSWER)
    client = await start_client(two_tiers(sim, gpu), options=ROUTING)
    open_document(client, URI, TEXT)
    limited = {
        "type": "status",
        "status": 429,
        "ratelimit_headers": {
            "x-ratelimit-remaining-tokens-minute": "0",
            "x-ratelimit-reset-tokens-minute": "42",
        },
    }
    sim.reset()
    sim.script({"text": "x", "fault": limited}, FAST_ANSWER)
    assert await _complete(client) == ["a + b  # gpu"]
    report = await stats(client)
    assert 35 < report["tiers"]["fast"]["rateLimitedForS"] <= 42


async def test_repeated_failures_open_the_breaker_and_status_says_down(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "x", "fault": {"type": "status", "status": 500}, "repeat": -1})
    gpu.script(GPU_ANSWER)
    client = await start_client(two_tiers(sim, gpu), options=ROUTING)
    for attempt in range(4):
        uri = f"file:///work/breaker{attempt}.py"
        open_document(client, uri, TEXT)
        assert await _complete(client, uri) == ["a + b  # gpu"]

    assert len(sim.completion_requests()) == 3  # the open breaker spares the failing tier
    report = await stats(client)
    assert report["tiers"]["fast"]["state"] == "down"
    assert report["tiers"]["fast"]["breaker"] == "open"
    states = [s.tiers.fast.state for s in client.status_notifications]  # type: ignore[attr-defined]
    assert "down" in states


async def test_refused_connection_marks_the_tier_down_and_the_gpu_tier_serves(
    gpu: SimProcess, start_client: StartClient
) -> None:
    gpu.script(GPU_ANSWER)
    env = server_env(
        None,
        CEREBRAS_API_KEY="k",
        CEREBRAS_BASE_URL="http://127.0.0.1:9",
        SPARK_LSP_FAST_MODEL="m",
        SPARK_LSP_GPU_BASE_URL=gpu.url + "/v1",
        SPARK_LSP_GPU_MODEL=GPU_MODEL,
        SPARK_LSP_GPU_API_KEY="k",
    )
    client = await start_client(env, options=ROUTING)
    open_document(client, URI, TEXT)
    assert await _complete(client) == ["a + b  # gpu"]
    report = await stats(client)
    assert report["tiers"]["fast"]["state"] == "down"
    assert report["tiers"]["gpu"]["state"] == "ok"


async def test_without_fallback_a_fault_gives_an_empty_result_in_time(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    options = {**ROUTING, "routing": {**ROUTING["routing"], "fallback": False}}
    client, items, elapsed = await _answer_after_fault(
        sim, gpu, start_client, {"type": "stall_before_first_token", "ms": 5000}, options
    )
    assert items == []
    assert elapsed < 2.0
    assert gpu.completion_requests() == []
    open_document(client, OTHER_URI, TEXT)
    assert await _complete(client, OTHER_URI) == ["a + b  # fast"]


async def test_hedging_races_the_gpu_tier_when_the_fast_tier_is_slow(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    options = {"routing": {"hedge": True, "deadlines": {"inline": {"firstTokenMs": 2000, "totalMs": 3000}}}}
    client, items, elapsed = await _answer_after_fault(
        sim, gpu, start_client, {"type": "stall_before_first_token", "ms": 1500}, options
    )
    assert items == ["a + b  # gpu"]
    assert elapsed < 1.4  # did not wait for the slow tier's first token
    report = await stats(client)
    assert counter(report, "inline.hedged") == 1
    await asyncio.to_thread(sim.wait_for, lambda records: records[0]["outcome"] == "client_disconnected", 3.0)


async def test_gpu_tier_over_the_openai_compatible_api_on_its_own(
    gpu: SimProcess, start_client: StartClient
) -> None:
    gpu.script({"text": "```python\na + b\n```"})
    env = server_env(None, SPARK_LSP_GPU_BASE_URL=gpu.url + "/v1", SPARK_LSP_GPU_API_KEY="k")
    options = {"models": {GPU_MODEL: {"promptFormat": "chat"}}, "keepWarmS": 0}
    client = await start_client(env, options=options)
    open_document(client, URI, TEXT)
    assert await _complete(client) == ["a + b"]
    record = gpu.completion_requests()[0]
    assert record["path"] == "/v1/chat/completions" and record["model"] == GPU_MODEL
    assert (await stats(client))["tiers"]["gpu"]["model"] == GPU_MODEL  # picked from /v1/models


async def test_a_third_provider_is_configuration_not_code(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "x", "fault": {"type": "status", "status": 500}, "repeat": -1})
    gpu.script(GPU_ANSWER)
    options = {
        **ROUTING,
        "providers": [
            {"name": "local", "baseUrl": gpu.url + "/v1", "model": GPU_MODEL, "apiKeyEnv": "LOCAL_KEY"}
        ],
        "routing": {**ROUTING["routing"], "routes": {"inline": ["fast", "local"]}},
    }
    client = await start_client(server_env(sim, LOCAL_KEY="k"), options=options)
    open_document(client, URI, TEXT)
    assert await _complete(client) == ["a + b  # gpu"]
    assert counter(await stats(client), "inline.answeredBy.local") == 1
