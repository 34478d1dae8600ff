"""End to end: `spark-lsp serve` over stdio against `spark-lsp sim`, driven by a pytest-lsp client."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.e2e.conftest import (
    MODEL,
    StartClient,
    cancel_request,
    capabilities,
    counter,
    inline_params,
    insert,
    open_document,
    request_inline,
    server_env,
    stats,
)
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

URI = "file:///work/example.py"
NO_PREFETCH = {"inline": {"prefetch": False}}
SOURCE = "def add(a, b):\n    return \n\n\ndef sub(a, b):\n    return a - b\n"


def _items(result: types.InlineCompletionList | list[types.InlineCompletionItem] | None) -> list[str]:
    if result is None:
        return []
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    return [str(item.insert_text) for item in items]


async def test_ghost_text_for_a_fim_request(sim: SimProcess, start_client: StartClient) -> None:
    sim.script({"text": "a + b\n\n\ndef sub(a, b):"})
    client = await start_client(server_env(sim))
    open_document(client, URI, SOURCE)

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))

    assert _items(result) == ["a + b"]
    record = sim.completion_requests()[0]  # a prefetch of what follows may come after it
    assert record["path"] == "/v1/completions"
    prompt = record["prompt"]
    assert prompt.startswith("<|fim_prefix|>def add(a, b):\n    return ")
    assert "<|fim_suffix|>\n\n\ndef sub(a, b):" in prompt
    assert prompt.endswith("<|fim_middle|>")


async def test_special_token_text_in_user_code_does_not_break_the_frame(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "1"})
    client = await start_client(server_env(sim))
    open_document(client, URI, 'MARK = "<|fim_middle|><|endoftext|>"\nx = ')

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 4))

    assert _items(result) == ["1"]
    prompt = sim.completion_requests()[0]["prompt"]
    assert prompt.count("<|fim_middle|>") == 1 and prompt.endswith("<|fim_middle|>")
    assert "<|endoftext|>" not in prompt


async def test_chat_prompt_and_fenced_answer(sim: SimProcess, start_client: StartClient) -> None:
    sim.script({"text": "```python\na + b\n```"})
    options = {"models": {MODEL: {"promptFormat": "chat"}}}
    client = await start_client(server_env(sim), options=options)
    open_document(client, URI, SOURCE)

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))

    assert _items(result) == ["a + b"]
    record = sim.completion_requests()[0]
    assert record["path"] == "/v1/chat/completions"
    user = record["prompt"][-1]["content"]
    assert "    return {{FILL_HERE}}\n" in user


async def test_a_line_being_written_is_answered_at_its_line_break(
    sim: SimProcess, start_client: StartClient
) -> None:
    long_tail = "".join(f"\nline_{i} = {i}" for i in range(300))
    sim.script({"text": "a + b" + long_tail, "tokens_per_second": 300})
    client = await start_client(server_env(sim))
    open_document(client, URI, SOURCE)

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))

    assert _items(result) == ["a + b"]
    record = sim.wait_for(lambda rs: rs and rs[0]["outcome"] != "in_progress")[0]
    assert record["outcome"] == "client_disconnected"  # the next line leaves the function: stop
    assert record["tokens_sent"] < record["tokens_planned"] / 2


async def test_the_lines_after_a_line_being_written_come_in_the_same_round_trip(
    sim: SimProcess, start_client: StartClient
) -> None:
    # Slow enough that the first line is answered long before the stream ends.
    rest = "\n    return result\n\n\ndef other():\n    pass"
    sim.script({"text": "sum(items)" + rest, "tokens_per_second": 40})
    client = await start_client(server_env(sim))
    open_document(client, URI, "def total(items):\n    result = \n\n\ndef other():\n    pass\n")

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 13))
    assert _items(first) == ["sum(items)"]
    assert sim.completion_requests()[0]["outcome"] == "in_progress"  # answered before the stream ended
    insert(client, URI, 2, 1, 13, "sum(items)")  # Tab
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 23, invoked=False))

    assert _items(second) == ["\n    return result"]
    assert len(sim.completion_requests()) == 1  # neither a second request nor a prefetch
    report = await stats(client)
    assert counter(report, "inline.reusedStreams") == 1  # the Tab came while it streamed
    assert counter(report, "prefetch.requests") == 0


async def test_multi_line_body_after_a_block_opener(sim: SimProcess, start_client: StartClient) -> None:
    body = "    total = a * b\n    return total\n\n\ndef sub(a, b):\n    return a - b\n"
    sim.script({"text": body})
    client = await start_client(server_env(sim))
    text = "def mul(a, b):\n    \n\n\ndef sub(a, b):\n    return a - b\n"
    open_document(client, URI, text)

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 4))

    assert _items(result) == ["total = a * b\n    return total"]


async def _wait_streaming(sim: SimProcess, tokens: int = 1) -> dict[str, object]:
    def streaming(records: list[dict[str, object]]) -> bool:
        return any(r["outcome"] == "in_progress" and int(str(r["tokens_sent"])) >= tokens for r in records)

    records = await asyncio.to_thread(sim.wait_for, streaming)
    return next(r for r in records if r["outcome"] == "in_progress")


async def _assert_upstream_closed(sim: SimProcess, record_id: object) -> dict[str, object]:
    def ended(records: list[dict[str, object]]) -> bool:
        return any(r["id"] == record_id and r["outcome"] != "in_progress" for r in records)

    records = await asyncio.to_thread(sim.wait_for, ended, 3.0)
    record = next(r for r in records if r["id"] == record_id)
    assert record["outcome"] == "client_disconnected"
    assert int(str(record["tokens_sent"])) < int(str(record["tokens_planned"])) / 2
    return record


SLOW = {"text": "a + b  # " + "word " * 400, "tokens_per_second": 40, "ttft_ms": 0}


async def test_cancel_request_closes_the_upstream_stream(sim: SimProcess, start_client: StartClient) -> None:
    sim.script(SLOW)
    client = await start_client(server_env(sim))
    open_document(client, URI, SOURCE)

    msg_id, pending = request_inline(client, inline_params(URI, 1, 11))
    record = await _wait_streaming(sim)
    cancel_request(client, msg_id)

    await _assert_upstream_closed(sim, record["id"])
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    assert counter(await stats(client), "inline.cancelled") >= 1


async def test_a_newer_request_for_the_document_cancels_the_older(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(SLOW, {"text": "a + b"})
    client = await start_client(server_env(sim))
    open_document(client, URI, SOURCE)

    _, first = request_inline(client, inline_params(URI, 1, 11))
    record = await _wait_streaming(sim)
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))

    assert _items(await first) == []
    assert _items(second) == ["a + b"]
    await _assert_upstream_closed(sim, record["id"])


@pytest.fixture(scope="module")
def tls_sim() -> object:
    sim = SimProcess("--profile", "instant", "--model", MODEL, "--tls")
    yield sim
    sim.stop()


async def test_cancel_over_tls_and_http2_resets_the_upstream_stream(
    tls_sim: SimProcess, start_client: StartClient
) -> None:
    tls_sim.reset()
    tls_sim.script(SLOW, {"text": "a + b"})
    client = await start_client(server_env(tls_sim))
    open_document(client, URI, SOURCE)

    msg_id, pending = request_inline(client, inline_params(URI, 1, 11))
    record = await _wait_streaming(tls_sim)
    assert record["http_version"] == "2"
    cancel_request(client, msg_id)
    await _assert_upstream_closed(tls_sim, record["id"])
    with pytest.raises(JsonRpcRequestCancelled):
        await pending

    # The HTTP/2 connection survives the reset: the next request reuses it.
    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))
    assert _items(result) == ["a + b"]
    generations = tls_sim.completion_requests()
    assert generations[-1]["client"] == generations[0]["client"]


async def test_incremental_edits_with_non_bmp_text_keep_positions(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "suffix_ok"})
    client = await start_client(server_env(sim))
    open_document(client, URI, "s = '😀é中'\n")
    # UTF-16: the emoji is two code units, so "😀é中" spans characters 5..9 and the quote is at 9.
    insert(client, URI, 2, 0, 9, "👍🏽")
    insert(client, URI, 3, 0, 13, "x")
    insert(client, URI, 4, 1, 0, "t = s + ")

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 8))

    assert _items(result) == ["suffix_ok"]
    prompt = sim.completion_requests()[0]["prompt"]
    assert prompt.startswith("<|fim_prefix|>s = '😀é中👍🏽x'\nt = s + <|fim_suffix|>")


async def test_typing_through_the_suggestion_needs_no_round_trip(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "a + b"})
    client = await start_client(server_env(sim), options=NO_PREFETCH)
    open_document(client, URI, SOURCE)

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))
    insert(client, URI, 2, 1, 11, "a +")
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 14, invoked=False))

    assert _items(first) == ["a + b"]
    assert _items(second) == [" b"]
    assert len(sim.completion_requests()) == 1
    report = await stats(client)
    assert counter(report, "inline.cacheHits") == 1
    assert counter(report, "upstream.fast.calls") == 1


async def test_bursts_of_automatic_requests_are_debounced(sim: SimProcess, start_client: StartClient) -> None:
    sim.script({"text": "a + b", "repeat": -1})
    client = await start_client(
        server_env(sim), options={"inline": {"debounceMinMs": 150, "debounceMaxMs": 300, "prefetch": False}}
    )
    open_document(client, URI, "x = \n")
    pending = []
    for column, char in enumerate("value", start=4):
        insert(client, URI, column - 2, 0, column, char)
        pending.append(request_inline(client, inline_params(URI, 0, column + 1, invoked=False))[1])
        await asyncio.sleep(0.01)
    results = [_items(await p) for p in pending]

    assert results[-1] == ["a + b"]
    assert all(r == [] for r in results[:-1])
    assert len(sim.completion_requests()) == 1
    report = await stats(client)
    assert counter(report, "inline.superseded") == 4


async def test_stats_report_counters_and_percentiles(sim: SimProcess, start_client: StartClient) -> None:
    sim.script({"text": "a + b"})
    client = await start_client(server_env(sim), options=NO_PREFETCH)
    open_document(client, URI, SOURCE)
    await client.text_document_inline_completion_async(inline_params(URI, 1, 11))

    report = await stats(client)

    assert counter(report, "inline.requests") == 1
    assert counter(report, "upstream.fast.calls") == 1
    for series in ("overhead", "timeToFirstToken", "endToEnd"):
        assert report["latencyMs"]["inline"][series]["count"] == 1
        assert report["latencyMs"]["inline"][series]["p50"] >= 0
    assert report["tiers"]["fast"]["state"] == "ok"
    assert report["tiers"]["fast"]["model"] == MODEL
    assert report["process"]["rssBytes"] > 10_000_000
    [call] = report["recentUpstreamCalls"]  # joined with the provider's records by request id
    [record] = sim.completion_requests()
    assert call["id"] == record["id"] and call["tier"] == "fast" and call["task"] == "inline"
    assert call["startedAt"] < record["started_at"] < record["first_token_at"] < call["firstTokenAt"]
    assert report["process"]["openFds"] > 2 and report["process"]["asyncioTasks"] >= 1


async def test_completion_fallback_for_clients_without_inline_completion(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "a + b"})
    client = await start_client(server_env(sim), caps=capabilities("neovim", inline=False))
    open_document(client, URI, SOURCE)

    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=1, character=11)
        )
    )

    assert isinstance(result, types.CompletionList)
    assert [item.text_edit.new_text for item in result.items if item.text_edit] == ["a + b"]
    assert result.is_incomplete


async def test_prefetch_answers_the_line_after_an_accepted_suggestion(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(
        {"text": "sum(items)", "match": "result = <|fim_suffix|>"},
        {"text": "\n    return result\n\n\ndef other():", "match": "result = sum(items)<|fim_suffix|>"},
    )
    client = await start_client(server_env(sim))
    open_document(client, URI, "def total(items):\n    result = \n\n\ndef other():\n    pass\n")

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 13))
    assert _items(first) == ["sum(items)"]
    await asyncio.to_thread(sim.wait_for, lambda rs: len(rs) == 2 and rs[1]["outcome"] == "completed")
    insert(client, URI, 2, 1, 13, "sum(items)")  # Tab
    insert(client, URI, 3, 1, 23, "\n    ")  # Enter; the editor indents
    second = await client.text_document_inline_completion_async(inline_params(URI, 2, 4, invoked=False))

    assert _items(second) == ["return result"]
    prefixes = [r["prompt"].split("<|fim_suffix|>")[0] for r in sim.completion_requests()]
    assert not any(prefix.endswith("sum(items)\n    ") for prefix in prefixes)  # no round-trip after Enter
    report = await stats(client)
    assert counter(report, "prefetch.suggestions") == 1
    assert counter(report, "inline.cacheHits") == 1


async def test_a_request_where_a_prefetch_is_under_way_waits_for_it(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(
        {"text": "sum(items)", "match": "result = <|fim_suffix|>"},
        {
            "text": "\n    return result\n\n\ndef other():",
            "match": "result = sum(items)<|fim_suffix|>",
            "ttft_ms": 400,
        },
    )
    client = await start_client(server_env(sim))
    open_document(client, URI, "def total(items):\n    result = \n\n\ndef other():\n    pass\n")

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 13))
    assert _items(first) == ["sum(items)"]
    insert(client, URI, 2, 1, 13, "sum(items)")  # Tab, while the prefetch waits for its first token
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 23, invoked=False))

    # The accepted line's continuation, shown multi-line from the end of the line.
    assert _items(second) == ["\n    return result"]
    prompts = [r["prompt"] for r in sim.completion_requests()]
    assert sum("result = sum(items)<|fim_suffix|>\n\n\ndef" in p for p in prompts) == 1  # asked once
    report = await stats(client)
    assert counter(report, "inline.reusedStreams") == 1
    assert counter(report, "prefetch.abandoned") == 0


async def test_nothing_to_add_is_remembered_for_keystrokes_but_not_for_an_explicit_request(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(
        {"text": "sum(items)", "match": "result = <|fim_suffix|>"},
        {"text": "", "match": "result = sum(items)<|fim_suffix|>", "repeat": -1},
    )
    client = await start_client(server_env(sim))
    open_document(client, URI, "def total(items):\n    result = \n")

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 13))
    assert _items(first) == ["sum(items)"]
    await asyncio.to_thread(sim.wait_for, lambda rs: len(rs) == 2 and rs[1]["outcome"] == "completed")
    insert(client, URI, 2, 1, 13, "sum(items)")  # Tab
    typed = await client.text_document_inline_completion_async(inline_params(URI, 1, 23, invoked=False))
    assert _items(typed) == [] and len(sim.completion_requests()) == 2  # answered from memory
    invoked = await client.text_document_inline_completion_async(inline_params(URI, 1, 23))
    assert _items(invoked) == [] and len(sim.completion_requests()) == 3  # asked afresh
    report = await stats(client)
    assert counter(report, "inline.cacheHits") == 1


async def test_no_prefetch_after_an_answer_that_runs_into_the_code_below(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "sum(items)\n    return total\n", "match": "total = <|fim_suffix|>"})
    client = await start_client(server_env(sim))
    open_document(client, URI, "def f(items):\n    total = \n    return total\n")

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 12))
    assert _items(first) == ["sum(items)"]
    insert(client, URI, 2, 1, 12, "sum(items)")  # Tab
    after = await client.text_document_inline_completion_async(inline_params(URI, 1, 22, invoked=False))

    assert _items(after) == []
    assert len(sim.completion_requests()) == 1  # the model already said: the code below comes next
    report = await stats(client)
    assert counter(report, "prefetch.requests") == 0


@pytest.mark.parametrize("options", [{}, {"naiveBaseline": True}], ids=["optimised", "no-early-stop"])
async def test_a_suggestion_is_cut_where_it_rewrites_the_code_below_after_a_blank_line(
    sim: SimProcess, start_client: StartClient, options: dict[str, object]
) -> None:
    # Seen in the benchmark: on the empty line after `var addrs = ...`, the answer went on past the
    # function into the next doc comment. Without early stop, only the final clean-up can cut it.
    source = "function ips(req) {\n  var addrs = all(req)\n\n});\n\n/**\n * Return subdomains.\n */\n"
    answer = "\n  addrs.reverse()\n\n  return addrs\n});\n\n/**\n * Return subdomains.\n */\n"
    sim.script({"text": answer})
    client = await start_client(server_env(sim), options=options)
    open_document(client, "file:///work/request.js", source, "javascript")

    result = await client.text_document_inline_completion_async(
        inline_params("file:///work/request.js", 2, 0)
    )

    # Not `});` and the doc comment again: they are already there, below the cursor.
    assert _items(result) == ["\n  addrs.reverse()\n\n  return addrs"]


async def test_a_slow_tier_past_the_deadline_keeps_its_complete_lines_and_stays_healthy(
    sim: SimProcess, start_client: StartClient
) -> None:
    body = "".join(f"    step_{i}(items)\n" for i in range(40))
    sim.script({"text": body, "tokens_per_second": 40})  # ~6 s for all of it
    options = {"routing": {"deadlines": {"inline": {"firstTokenMs": 1000, "totalMs": 1200}}}}
    client = await start_client(server_env(sim), options=options)
    open_document(client, URI, "def run(items):\n    \n")

    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 4))

    [text] = _items(result)
    lines = text.split("\n")
    assert 2 <= len(lines) < 40 and lines[0] == "step_0(items)"
    assert all(line == f"    step_{i}(items)" for i, line in enumerate(lines[1:], start=1))
    report = await stats(client)
    assert counter(report, "inline.deadlineCuts") == 1
    assert counter(report, "upstream.fast.errors") == 0 and report["tiers"]["fast"]["state"] == "ok"


async def test_naive_baseline_switches_the_optimisations_off(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "a + b", "repeat": -1})
    client = await start_client(server_env(sim), options={"naiveBaseline": True})
    open_document(client, URI, SOURCE)

    first = await client.text_document_inline_completion_async(inline_params(URI, 1, 11))
    insert(client, URI, 2, 1, 11, "a")
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 12))

    assert _items(first) == ["a + b"]
    assert _items(second) == [" + b"]  # the model's echo of the typed "a" is removed
    records = sim.completion_requests()
    assert len(records) == 2  # no typing-through cache, no prefetch
    assert records[0]["client"] != records[1]["client"]  # a new connection per request
    assert counter(await stats(client), "prefetch.requests") == 0


async def test_the_pooled_connection_is_kept_warm_while_the_user_is_active(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim), options={"keepWarmS": 0.1})
    open_document(client, URI, SOURCE)
    await client.text_document_inline_completion_async(inline_params(URI, 1, 11))  # activity
    for _ in range(100):
        if counter(await stats(client), "upstream.fast.keepWarm") >= 2:
            break
        await asyncio.sleep(0.05)
    assert counter(await stats(client), "upstream.fast.keepWarm") >= 2


async def test_typing_what_the_stream_suggests_reuses_it_instead_of_cancelling(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "a + b  # done", "tokens_per_second": 12, "ttft_ms": 0})
    client = await start_client(server_env(sim), options=NO_PREFETCH)
    open_document(client, URI, SOURCE)

    msg_id, first = request_inline(client, inline_params(URI, 1, 11))
    await _wait_streaming(sim, tokens=3)  # the stream has shown more than the key about to be typed
    insert(client, URI, 2, 1, 11, "a")  # the user types the suggestion's first character...
    cancel_request(client, msg_id)  # ...so the editor cancels the old request and asks again
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 12, invoked=False))

    assert _items(second) == [" + b  # done"]
    [record] = sim.completion_requests()
    assert record["outcome"] == "completed"
    report = await stats(client)
    assert counter(report, "inline.adoptedStreams") == 1
    assert counter(report, "inline.reusedStreams") == 1
    with pytest.raises(JsonRpcRequestCancelled):
        await first


async def test_typing_something_else_cancels_the_stream_at_once(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(SLOW, {"text": "zeta"})
    client = await start_client(server_env(sim), options=NO_PREFETCH)
    open_document(client, URI, SOURCE)

    msg_id, _ = request_inline(client, inline_params(URI, 1, 11))
    record = await _wait_streaming(sim)
    insert(client, URI, 2, 1, 11, "z")
    cancel_request(client, msg_id)

    await _assert_upstream_closed(sim, record["id"])
    second = await client.text_document_inline_completion_async(inline_params(URI, 1, 12))
    assert _items(second) == ["eta"]  # the model's echo of the typed "z" is removed
    assert len(sim.completion_requests()) == 2
