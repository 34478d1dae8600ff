"""End to end: hover explanations from the fast tier, cached by what they explain, dropped when late."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartClient, capabilities, counter, open_document, server_env, stats
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

URI = "file:///work/prices.py"
TEXT = (
    "import math\n\n\ndef rounded_total(prices):\n    total = math.fsum(prices)\n    return round(total, 2)\n"
)
EXPLANATION = "`math.fsum` adds the prices with exact floating-point rounding, so the total does not drift."
ENABLED = {"hover": {"enabled": True}, "keepWarmS": 0}


def hover_at(line: int, character: int) -> types.HoverParams:
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=character),
    )


def markdown(result: Any) -> str:
    assert isinstance(result, types.Hover) and isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.Markdown
    return result.contents.value


async def test_hover_is_off_by_default(sim: SimProcess, start_client: StartClient) -> None:
    client = await start_client(server_env(sim), options={"keepWarmS": 0})
    open_document(client, URI, TEXT)
    assert await client.text_document_hover_async(hover_at(4, 18)) is None
    assert sim.completion_requests() == []


async def test_a_hover_explains_is_cached_and_a_stalled_one_returns_nothing_in_time(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(
        {"text": EXPLANATION, "match": "math.fsum"},
        {"text": EXPLANATION, "match": "round", "fault": {"type": "stall_before_first_token", "ms": 5000}},
    )
    client = await start_client(
        server_env(sim), options={**ENABLED, "hover": {"enabled": True, "deadlineMs": 500}}
    )
    open_document(client, URI, TEXT)

    first = await client.text_document_hover_async(hover_at(4, 18))  # on `fsum` in `math.fsum(...)`
    again = await client.text_document_hover_async(hover_at(4, 20))  # the same expression again

    assert markdown(first) == EXPLANATION == markdown(again)
    assert first is not None and first.range == types.Range(
        start=types.Position(line=4, character=12), end=types.Position(line=4, character=21)
    )
    (record,) = sim.completion_requests()  # one request: the second hover came from the cache
    question = record["prompt"][1]["content"]
    assert "Explain `math.fsum` on line 5" in question and "def rounded_total(prices):" in question

    started = time.monotonic()
    stalled = await client.text_document_hover_async(hover_at(5, 12))  # on `round`: the model stalls
    elapsed = time.monotonic() - started

    assert stalled is None
    assert elapsed < 0.5 + 0.4  # the deadline, plus slack for a loaded machine
    report = await stats(client)
    assert counter(report, "hover.requests") == 2 and counter(report, "hover.cacheHits") == 1
    assert counter(report, "hover.empty") == 1


async def test_hover_is_registered_only_while_enabled_where_the_client_allows(
    sim: SimProcess, start_client: StartClient
) -> None:
    caps = capabilities()
    assert caps.text_document is not None
    caps.text_document.hover = types.HoverClientCapabilities(dynamic_registration=True)
    client = await start_client(server_env(sim), caps=caps, options={"keepWarmS": 0})
    assert client.initialize_result.capabilities.hover_provider is None  # type: ignore[attr-defined]

    client.set_configuration({"sparkLsp": {"hover": {"enabled": True}}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for _ in range(200):
        if types.TEXT_DOCUMENT_HOVER in client.registered_methods:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert types.TEXT_DOCUMENT_HOVER in client.registered_methods  # type: ignore[attr-defined]
