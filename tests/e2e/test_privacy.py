"""End to end: excluded files never reach a model, secrets are redacted, placeholders never come back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    StartClient,
    capabilities,
    counter,
    inline_params,
    open_document,
    server_env,
    stats,
)
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

GITHUB_TOKEN = "ghp_" + "a1B2" * 9
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


async def _status_for(client: Any, uri: str) -> Any:
    for _ in range(200):
        for status in client.status_notifications:
            document = getattr(status, "document", None)
            if document is not None and document.uri == uri:
                return document
        await asyncio.sleep(0.02)
    raise AssertionError(f"no spark/status about {uri}")


async def _complete(client: Any, uri: str, line: int, character: int) -> list[str]:
    result = await client.text_document_inline_completion_async(inline_params(uri, line, character))
    return [] if result is None else [str(item.insert_text) for item in result.items]


async def test_secret_looking_ignored_and_configured_files_are_never_sent(
    sim: SimProcess, start_client: StartClient, tmp_path: Path
) -> None:
    sim.script({"text": "1", "repeat": -1})
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / ".sparkignore").write_text("private/\n")
    caps = capabilities()
    client = await start_client(
        server_env(sim),
        caps=caps,
        options={"exclude": ["**/vendor/**"], "inline": {"prefetch": False}},
        workspace=tmp_path.as_uri(),
    )
    excluded = {
        (tmp_path / ".env").as_uri(): ".env",
        (tmp_path / "build" / "gen.py").as_uri(): "build/",
        (tmp_path / "private" / "notes.py").as_uri(): "private/",
        (tmp_path / "vendor" / "lib.py").as_uri(): "vendor",
        (tmp_path / "certs" / "server.pem").as_uri(): ".pem",
    }
    for uri in excluded:
        open_document(client, uri, "x = ")
        assert await _complete(client, uri, 0, 4) == []
    assert sim.completion_requests() == []
    for uri, reason_fragment in excluded.items():
        document = await _status_for(client, uri)
        assert document.excluded and reason_fragment in document.reason

    allowed = (tmp_path / "src" / "app.py").as_uri()
    open_document(client, allowed, "x = ")
    assert await _complete(client, allowed, 0, 4) == ["1"]
    assert counter(await stats(client), "requests.excluded") == len(excluded)


async def test_secrets_are_redacted_before_any_request(sim: SimProcess, start_client: StartClient) -> None:
    sim.script({"text": "1", "repeat": -1})
    client = await start_client(server_env(sim), options={"inline": {"prefetch": False}})
    uri = "file:///work/settings.py"
    text = f'TOKEN = "{GITHUB_TOKEN}"\nAWS = "{AWS_KEY}"\nretries = '
    open_document(client, uri, text)
    assert await _complete(client, uri, 2, 10) == ["1"]
    prompt = sim.completion_requests()[0]["prompt"]
    assert GITHUB_TOKEN not in prompt and AWS_KEY not in prompt
    assert '"<redacted:github-token>"' in prompt and '"<redacted:aws-access-key>"' in prompt


async def test_an_answer_with_a_placeholder_is_never_shown(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script({"text": '"<redacted:github-token>"'})
    client = await start_client(server_env(sim), options={"inline": {"prefetch": False}})
    uri = "file:///work/copy.py"
    open_document(client, uri, f'TOKEN = "{GITHUB_TOKEN}"\nCOPY = ')
    assert await _complete(client, uri, 1, 7) == []
    assert counter(await stats(client), "inline.placeholderAnswers") == 1


async def test_nothing_is_sent_while_the_cursor_is_inside_a_secret(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim))
    uri = "file:///work/typing.py"
    open_document(client, uri, f'TOKEN = "{GITHUB_TOKEN}"\n')
    assert await _complete(client, uri, 0, 20) == []
    assert sim.completion_requests() == []


async def test_excluded_files_get_no_ai_code_actions_and_no_hover(
    sim: SimProcess, start_client: StartClient
) -> None:
    from lsprotocol import types

    client = await start_client(server_env(sim), options={"hover": {"enabled": True}, "keepWarmS": 0})
    uri = "file:///work/secrets.py"
    open_document(client, uri, "def f():\n    return reuslt\n")
    await _status_for_exclusion_decided(client, uri)
    diagnostic = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=1, character=11), end=types.Position(line=1, character=17)
        ),
        message='"reuslt" is not defined',
    )
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    assert actions is None
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=12)
        )
    )
    assert hover is None
    assert sim.completion_requests() == []


async def _status_for_exclusion_decided(client: Any, uri: str) -> None:
    # The decision is made in the background at didOpen; an inline request waits for it and tells.
    assert await _complete(client, uri, 1, 4) == []
    await _status_for(client, uri)
