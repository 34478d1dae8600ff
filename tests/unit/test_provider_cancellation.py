"""Cancelling provider streams at any moment, mid-send included, over TLS + HTTP/2 to the simulator."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from spark_lsp.providers.base import ModelRequest, ProviderError, StreamInfo
from spark_lsp.providers.cerebras import CerebrasProvider
from spark_lsp.providers.http_client import make_http_client
from spark_lsp.providers.openai_compat import OpenAICompatProvider
from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.server import RunningSim, sim_running

MODEL = "sim-spark-coder"
PROMPT = "<|fim_prefix|>" + "x = 1\n" * 1000 + "<|fim_suffix|><|fim_middle|>"  # a 6 KB body


@pytest.fixture
async def tls_sim() -> AsyncIterator[RunningSim]:
    async with sim_running(SimConfig(profile="spark", tls=True)) as running:
        yield running


async def _records(sim: RunningSim) -> list[dict[str, Any]]:
    assert sim.cert_path is not None
    verify = ssl.create_default_context(cafile=str(sim.cert_path))
    async with httpx.AsyncClient(base_url=sim.url, verify=verify) as client:
        return [r for r in (await client.get("/sim/requests")).json() if "completions" in r["path"]]


@pytest.mark.parametrize("kind", ["cerebras", "openai"])
async def test_cancelling_at_any_moment_leaves_no_stream_open_and_the_connection_healthy(
    tls_sim: RunningSim, kind: str
) -> None:
    http = make_http_client(10.0, str(tls_sim.cert_path))
    provider: Any = (
        CerebrasProvider(http, "key", tls_sim.url)
        if kind == "cerebras"
        else OpenAICompatProvider(http, tls_sim.url.rstrip("/") + "/v1", "key", "gpu", "gpu")
    )
    failures: Counter[str] = Counter()

    async def stream_once() -> None:
        try:
            async for _ in provider.stream(
                ModelRequest(model=MODEL, max_tokens=32, prompt=PROMPT), StreamInfo()
            ):
                pass
        except ProviderError as error:
            failures[str(error)] += 1

    rng = random.Random(7)
    for _ in range(120):
        task = asyncio.ensure_future(stream_once())
        await asyncio.sleep(rng.uniform(0.0, 0.004))  # often while the request is still being sent
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.5)

    records = await _records(tls_sim)
    assert not failures
    assert Counter(r["outcome"] for r in records)["in_progress"] == 0
    assert len({r["client"] for r in records}) == 1  # one connection throughout
    info = StreamInfo()
    async for _ in provider.stream(ModelRequest(model=MODEL, max_tokens=8, prompt=PROMPT), info):
        pass
    assert info.status == 200 and info.http_version == "HTTP/2"
    await http.aclose()
