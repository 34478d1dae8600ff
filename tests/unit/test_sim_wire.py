"""The simulator speaks the Cerebras / OpenAI wire protocol: checked with the real SDK and raw httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cerebras.cloud.sdk import AsyncCerebras, AsyncStream, NotFoundError
from cerebras.cloud.sdk.types.chat.chat_completion import ChatChunkResponse, ChatCompletionResponse
from cerebras.cloud.sdk.types.completion import CompletionResponse
from cerebras.cloud.sdk.types.model_list_response import ModelMetadataListData

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.server import RunningSim, sim_running
from spark_lsp.sim.tokens import count_tokens

MODEL = "sim-spark-coder"
AUTH = {"authorization": "Bearer test-key"}
TRUTH = '''"""A small module the perfect model knows by heart."""

import math

TOKEN = "<|fim_prefix|>"


def area(radius: float) -> float:
    """Area of a circle."""
    return math.pi * radius**2


def perimeter(radius: float) -> float:
    """Perimeter of a circle."""
    return 2 * math.pi * radius
'''


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSim]:
    truth_file = tmp_path / "circle.py"
    truth_file.write_text(TRUTH, encoding="utf-8")
    async with sim_running(SimConfig(profile="instant", truth_files=(truth_file,))) as running:
        yield running


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as client:
        yield client


@pytest.fixture
async def cerebras(sim: RunningSim) -> AsyncIterator[AsyncCerebras]:
    client = AsyncCerebras(base_url=sim.url, api_key="x", warm_tcp_connection=False, max_retries=0)
    async with client:
        yield client


async def script(http: httpx.AsyncClient, *entries: dict[str, Any]) -> None:
    response = await http.post("/sim/script", json={"responses": list(entries)})
    assert response.status_code == 200, response.text


async def sse_events(response: httpx.Response) -> list[str]:
    body = (await response.aread()).decode()
    assert body.endswith("\n\n")
    return [event.removeprefix("data: ") for event in body.split("\n\n") if event]


async def test_models_list_with_sdk(cerebras: AsyncCerebras) -> None:
    page = await cerebras.models.list()
    assert [model.id for model in page.data] == [MODEL]
    card = page.data[0]
    assert isinstance(card, ModelMetadataListData) and card.owned_by == "spark-lsp-sim"


async def test_sdk_typed_streaming_completions(cerebras: AsyncCerebras, http: httpx.AsyncClient) -> None:
    await script(http, {"text": "return a + b\n"})
    # SDK 1.91 has no stream=True overload: the result is a union that must be narrowed.
    stream = await cerebras.completions.create(model=MODEL, prompt="def add(a, b):\n    ", stream=True)
    assert isinstance(stream, AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert all(isinstance(chunk, CompletionResponse) for chunk in chunks)
    typed = [chunk for chunk in chunks if isinstance(chunk, CompletionResponse)]
    assert "".join(chunk.choices[0].text or "" for chunk in typed) == "return a + b\n"
    last = typed[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens == count_tokens("return a + b\n")
    assert last.time_info is not None
    assert len(typed) > 2


async def test_sdk_typed_streaming_chat(cerebras: AsyncCerebras, http: httpx.AsyncClient) -> None:
    await script(http, {"text": "Hello there, friend."})
    stream = await cerebras.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, max_completion_tokens=50
    )
    assert isinstance(stream, AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert all(isinstance(chunk, ChatChunkResponse) for chunk in chunks)
    deltas = [
        chunk.choices[0].delta
        for chunk in chunks
        if isinstance(chunk, ChatChunkResponse) and chunk.choices and chunk.choices[0].delta
    ]
    assert deltas[0].role == "assistant"
    assert "".join(delta.content or "" for delta in deltas) == "Hello there, friend."
    last = chunks[-1]
    assert isinstance(last, ChatChunkResponse) and last.choices and last.usage is not None
    assert last.choices[0].finish_reason == "stop"


async def test_sdk_non_streaming_chat(cerebras: AsyncCerebras, http: httpx.AsyncClient) -> None:
    await script(http, {"text": "plain answer"})
    result = await cerebras.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "q"}])
    assert isinstance(result, ChatCompletionResponse)
    assert result.choices[0].message.content == "plain answer"


async def test_raw_httpx_stream_shapes_and_headers(http: httpx.AsyncClient) -> None:
    await script(http, {"text": "a b c"})
    body = {"model": MODEL, "prompt": "x", "stream": True, "max_tokens": 2, "temperature": 0.2}
    async with http.stream("POST", "/v1/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"]
        assert int(response.headers["x-ratelimit-remaining-requests-day"]) > 0
        assert int(response.headers["x-ratelimit-remaining-tokens-minute"]) > 0
        events = await sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert "".join(chunk["choices"][0]["text"] for chunk in chunks) == "a b"
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "length"
    assert final["usage"]["completion_tokens"] == 2
    assert set(final["time_info"]) >= {"queue_time", "prompt_time", "completion_time", "total_time"}


async def test_chat_stream_stop_sequences(http: httpx.AsyncClient) -> None:
    await script(http, {"text": "line one\nline two\n\nline four"})
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
        "stop": ["\n\n"],
        "prediction": {"type": "content", "content": "line one"},
    }
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        events = await sse_events(response)
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert (
        "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks) == "line one\nline two"
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_max_completion_tokens_non_streaming(http: httpx.AsyncClient) -> None:
    await script(http, {"text": "one two three four"})
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 2}
    result = (await http.post("/v1/chat/completions", json=body)).json()
    assert result["choices"][0]["message"]["content"] == "one two"
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 2


async def test_auth_is_required(sim: RunningSim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        response = await client.post("/v1/completions", json={"model": MODEL, "prompt": "x"})
        assert response.status_code == 401
        assert set(response.json()["error"]) >= {"message", "type", "code"}
        response = await client.get("/v1/models", headers={"authorization": "Basic abc"})
        assert response.status_code == 401


async def test_unknown_model_is_404(cerebras: AsyncCerebras, http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/completions", json={"model": "gpt-nope", "prompt": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    with pytest.raises(NotFoundError):
        await cerebras.completions.create(model="gpt-nope", prompt="x")


async def test_bad_body_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/chat/completions", json={"model": MODEL, "messages": []})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


async def test_script_match_and_repeat(http: httpx.AsyncClient) -> None:
    await script(http, {"text": "matched", "match": "needle"}, {"text": "generic", "repeat": 2})

    async def ask(prompt: str) -> str:
        result = (await http.post("/v1/completions", json={"model": MODEL, "prompt": prompt})).json()
        return str(result["choices"][0]["text"])

    assert await ask("haystack") == "generic"
    assert await ask("with needle") == "matched"
    assert await ask("with needle") == "generic"
    assert await ask("haystack") == ""
    queue = (await http.get("/sim/script")).json()["responses"]
    assert queue == []


async def test_script_rejects_bad_entries_and_clears(http: httpx.AsyncClient) -> None:
    response = await http.post("/sim/script", json={"responses": [{"text": 1}]})
    assert response.status_code == 400
    await script(http, {"text": "a"}, {"text": "b"})
    assert (await http.delete("/sim/script")).json() == {"cleared": 2}


async def test_request_log_and_stats(http: httpx.AsyncClient) -> None:
    await script(http, {"text": "hello"})
    await http.post("/v1/completions", json={"model": MODEL, "prompt": "p", "max_tokens": 9})
    records = (await http.get("/sim/requests")).json()
    assert len(records) == 1
    record = records[0]
    assert record["path"] == "/v1/completions"
    assert record["http_version"] == "1.1"
    assert record["prompt"] == "p" and record["max_tokens"] == 9
    assert record["outcome"] == "completed" and record["status"] == 200
    assert record["tokens_planned"] == record["tokens_sent"] == 1
    assert record["started_at"] <= record["first_token_at"] <= record["ended_at"]
    assert record["client"].startswith("127.0.0.1:")
    stats = (await http.get("/sim/stats")).json()
    assert stats["requests"] == 1 and stats["completed"] == 1 and stats["tokens_sent"] == 1
    assert stats["connections"] == 1
    await http.delete("/sim/requests")
    assert (await http.get("/sim/requests")).json() == []


def expected_after(cursor: int) -> str:
    return TRUTH[cursor:]


@pytest.mark.parametrize(
    "template",
    [
        "<|fim_prefix|>{p}<|fim_suffix|>{s}<|fim_middle|>",
        "<fim_prefix>{p}<fim_suffix>{s}<fim_middle>",
        "<PRE> {p} <SUF>{s} <MID>",
        "<\uff5cfim\u2581begin\uff5c>{p}<\uff5cfim\u2581hole\uff5c>{s}<\uff5cfim\u2581end\uff5c>",
    ],
)
async def test_perfect_model_fim_templates(http: httpx.AsyncClient, template: str) -> None:
    cursor = TRUTH.index("return math.pi * radius**2")
    hole_end = TRUTH.index("def perimeter")
    prompt = template.format(p=TRUTH[40:cursor], s=TRUTH[hole_end:])
    body = {"model": MODEL, "prompt": prompt, "max_tokens": 12}
    result = (await http.post("/v1/completions", json=body)).json()
    text = result["choices"][0]["text"]
    assert text and expected_after(cursor).startswith(text)
    assert text.startswith("return math.pi")
    assert result["choices"][0]["finish_reason"] == "length"


async def test_perfect_model_reads_through_escaped_special_tokens(http: httpx.AsyncClient) -> None:
    cursor = TRUTH.index("\n\n\ndef area")
    typed = TRUTH[:cursor].replace("<|fim_prefix|>", "<\u200c|fim_prefix|>")
    prompt = f"<|fim_prefix|>{typed}<|fim_suffix|><|fim_middle|>"
    result = (
        await http.post("/v1/completions", json={"model": MODEL, "prompt": prompt, "max_tokens": 8})
    ).json()
    text = result["choices"][0]["text"]
    assert text and expected_after(cursor).startswith(text)
    assert "def area" in text


async def test_perfect_model_chat_hole(http: httpx.AsyncClient) -> None:
    cursor = TRUTH.index("2 * math.pi")
    user = (
        "Complete the code at {{FILL_HERE}}.\n```python\n"
        + TRUTH[:cursor]
        + "{{FILL_HERE}}"
        + TRUTH[cursor + 20 :]
        + "```\n"
    )
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a code model."},
            {"role": "user", "content": user},
        ],
        "max_completion_tokens": 5,
        "stream": True,
    }
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        events = await sse_events(response)
    chunks = [json.loads(event) for event in events[:-1]]
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text and expected_after(cursor).startswith(text)
    assert text.startswith("2 * math.pi")


async def test_perfect_model_truth_endpoint_and_no_match(http: httpx.AsyncClient) -> None:
    assert (await http.delete("/sim/truth")).json() == {"cleared": 1}
    prompt = "<|fim_prefix|>alpha = 1\nbeta = <|fim_suffix|><|fim_middle|>"
    result = (await http.post("/v1/completions", json={"model": MODEL, "prompt": prompt})).json()
    assert result["choices"][0]["text"] == ""
    assert result["choices"][0]["finish_reason"] == "stop"
    text = "alpha = 1\nbeta = 2\ngamma = 3\n"
    response = await http.post("/sim/truth", json={"name": "ab.py", "text": text})
    assert response.json()["truths"] == [{"name": "ab.py", "chars": len(text)}]
    body = {"model": MODEL, "prompt": prompt, "stop": ["\n"]}
    result = (await http.post("/v1/completions", json=body)).json()
    assert result["choices"][0]["text"] == "2"
    records = (await http.get("/sim/requests")).json()
    assert [record["source"] for record in records] == ["empty", "truth"]
