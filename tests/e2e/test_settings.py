"""End to end: settings from initializationOptions and workspace/configuration, errors, missing key."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.e2e.conftest import MODEL, StartClient, counter, inline_params, open_document, server_env, stats
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

URI = "file:///work/settings.py"


async def _messages(client: object, count: int = 1, wait_s: float = 5.0) -> list[types.ShowMessageParams]:
    messages: list[types.ShowMessageParams] = client.messages  # type: ignore[attr-defined]
    for _ in range(int(wait_s / 0.02)):
        if len(messages) >= count:
            break
        await asyncio.sleep(0.02)
    return messages


async def _status(client: object, state: str, wait_s: float = 5.0) -> dict[str, object]:
    statuses: list[object] = client.status_notifications  # type: ignore[attr-defined]
    for _ in range(int(wait_s / 0.02)):
        for status in statuses:
            fast = status.tiers.fast  # type: ignore[attr-defined]
            if fast.state == state:
                return {"state": fast.state, "model": fast.model, "detail": fast.detail}
        await asyncio.sleep(0.02)
    raise AssertionError(f"no spark/status with state {state!r}: {statuses}")


async def test_bad_settings_are_reported_and_defaults_kept(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "42"})
    options = {
        "inline": {"debounceMaxMs": "soon", "enabled": "yes", "maxLines": -3},
        "logLevel": 7,
        "colour": 1,
    }
    client = await start_client(server_env(sim), options=options)

    [message] = await _messages(client)
    assert message.type == types.MessageType.Warning
    for fragment in ("inline.debounceMaxMs", "inline.enabled", "inline.maxLines", "logLevel", "colour"):
        assert fragment in message.message

    open_document(client, URI, "answer = ")
    result = await client.text_document_inline_completion_async(inline_params(URI, 0, 9))
    assert result is not None and [i.insert_text for i in result.items] == ["42"]


async def test_settings_pulled_with_workspace_configuration(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": "```\n42\n```"})
    configuration = {"sparkLsp": {"models": {MODEL: {"promptFormat": "chat"}}}}
    client = await start_client(server_env(sim), configuration=configuration)
    await _status(client, "ok")

    open_document(client, URI, "answer = ")
    result = await client.text_document_inline_completion_async(inline_params(URI, 0, 9))

    assert result is not None and [i.insert_text for i in result.items] == ["42"]
    assert sim.completion_requests()[0]["path"] == "/v1/chat/completions"


async def test_without_a_key_the_server_starts_says_how_and_answers_empty(start_client: StartClient) -> None:
    client = await start_client(server_env(None))

    [message] = await _messages(client)
    assert "CEREBRAS_API_KEY" in message.message
    open_document(client, URI, "answer = ")
    result = await client.text_document_inline_completion_async(inline_params(URI, 0, 9))
    assert result is None
    assert (await stats(client))["tiers"]["fast"]["state"] == "unconfigured"
    await asyncio.sleep(0.2)
    assert len(client.messages) == 1  # said once, not per request


async def test_a_model_the_endpoint_does_not_list_is_reported(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim, SPARK_LSP_FAST_MODEL="no-such-model"))

    status = await _status(client, "degraded")
    assert status["model"] == "no-such-model"
    [message] = await _messages(client)
    assert "no-such-model" in message.message and MODEL in message.message


async def test_an_unreachable_endpoint_is_reported_and_requests_stay_empty(start_client: StartClient) -> None:
    env = server_env(
        None, CEREBRAS_API_KEY="k", CEREBRAS_BASE_URL="http://127.0.0.1:9", SPARK_LSP_FAST_MODEL=MODEL
    )
    client = await start_client(env)

    await _status(client, "down")
    open_document(client, URI, "answer = ")
    result = await client.text_document_inline_completion_async(inline_params(URI, 0, 9))
    assert result is None
    report = await stats(client)
    assert counter(report, "errors.connection") >= 1
