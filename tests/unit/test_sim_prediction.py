"""The simulator's predicted outputs: accepted spans stream faster and usage reports what was accepted."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.pacing import Pace, paced_batches
from spark_lsp.sim.prediction import PREDICTION_SPEEDUP, match_prediction
from spark_lsp.sim.server import sim_running
from spark_lsp.sim.tokens import Piece, count_tokens, split_pieces

MODEL = "sim-spark-coder"
AUTH = {"authorization": "Bearer test-key"}
ORIGINAL = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(60))
FIXED = ORIGINAL.replace("return x + 7\n", "return x - 7  # fixed\n")


def test_identical_prediction_is_accepted_whole() -> None:
    pieces = split_pieces(ORIGINAL)
    acceptance = match_prediction(pieces, ORIGINAL)
    assert all(acceptance.accepted)
    assert acceptance.accepted_tokens == count_tokens(ORIGINAL)
    assert acceptance.rejected_tokens == 0
    assert set(acceptance.speedups()) == {PREDICTION_SPEEDUP}


def test_a_small_change_rejects_only_the_changed_tokens() -> None:
    acceptance = match_prediction(split_pieces(FIXED), ORIGINAL)
    total = count_tokens(FIXED)
    assert total - 10 < acceptance.accepted_tokens < total
    assert 0 < acceptance.rejected_tokens <= 4


def test_an_unrelated_prediction_saves_nothing() -> None:
    acceptance = match_prediction(split_pieces("SELECT name FROM users;"), "zzz qqq")
    assert acceptance.accepted_tokens == 0
    assert acceptance.rejected_tokens == count_tokens("zzz qqq")


async def test_sped_up_pieces_are_released_sooner() -> None:
    pieces = [Piece("t ", 1)] * 60
    start = time.monotonic()
    plain = [b async for b in paced_batches(pieces, Pace(start, 0.0, 600.0))]
    plain_s = time.monotonic() - start
    start = time.monotonic()
    fast = [b async for b in paced_batches(pieces, Pace(start, 0.0, 600.0), speedups=[4.0] * 60)]
    fast_s = time.monotonic() - start
    assert sum(b.tokens for b in plain) == sum(b.tokens for b in fast) == 60
    assert plain_s >= 59 / 600.0 - 0.005
    assert fast_s < plain_s * 0.6


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    config = SimConfig(profile="instant", tokens_per_second=2000.0)
    async with (
        sim_running(config) as running,
        httpx.AsyncClient(base_url=running.url, headers=AUTH) as client,
    ):
        yield client


async def _chat(http: httpx.AsyncClient, prediction: str | None) -> tuple[float, dict[str, object]]:
    await http.post("/sim/script", json={"responses": [{"text": FIXED}]})
    body: dict[str, object] = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "fix it"}],
        "stream_options": {"include_usage": True},
    }
    if prediction is not None:
        body["prediction"] = {"type": "content", "content": prediction}
    started = time.monotonic()
    response = await http.post("/v1/chat/completions", json=body)
    elapsed = time.monotonic() - started
    events = [e.removeprefix("data: ") for e in response.text.split("\n\n") if e and e != "data: [DONE]"]
    final = json.loads(events[-1])
    return elapsed, final["usage"]


async def test_the_wire_reports_prediction_usage_and_streams_faster(http: httpx.AsyncClient) -> None:
    plain_s, plain_usage = await _chat(http, None)
    predicted_s, usage = await _chat(http, ORIGINAL)
    assert "completion_tokens_details" not in plain_usage
    details = usage["completion_tokens_details"]
    assert isinstance(details, dict)
    assert details["accepted_prediction_tokens"] > 0.9 * count_tokens(FIXED)
    assert 0 < details["rejected_prediction_tokens"] <= 4
    assert predicted_s < plain_s * 0.6
    records = (await http.get("/sim/requests")).json()
    assert records[-1]["accepted_prediction_tokens"] == details["accepted_prediction_tokens"]


async def test_prediction_on_the_completions_endpoint_is_refused(http: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "prompt": "x", "prediction": {"type": "content", "content": "x"}}
    response = await http.post("/v1/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prediction"
