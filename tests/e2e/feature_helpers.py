"""Shared pieces of the quick-fix, hover and refactor end-to-end tests: a GPU-tier simulator and a client
that records what the server asks of it (edits to apply, questions to answer)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import capabilities


class Recorder:
    """What the server sent back to the client: applied edits and answered questions."""

    def __init__(self, client: LanguageClient, answer: str | None = None, apply: bool = True) -> None:
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.questions: list[types.ShowMessageRequestParams] = []
        self.answer = answer

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=apply)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def question(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.questions.append(params)
            return None if self.answer is None else types.MessageActionItem(title=self.answer)


def messages(client: LanguageClient) -> list[str]:
    """Every window/showMessage text so far."""
    return [message.message for message in client.messages]


@pytest_asyncio.fixture
async def workspace_client() -> AsyncIterator[Any]:
    """Start a server with workspace folders (the bundled `start_client` sends none)."""
    clients: list[LanguageClient] = []

    async def start(
        env: dict[str, str],
        folders: list[str],
        caps: types.ClientCapabilities | None = None,
        options: Any = None,
    ) -> LanguageClient:
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "spark_lsp", "serve"], server_env=env
        )
        client: LanguageClient = await config.start()  # type: ignore[assignment]
        clients.append(client)
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps or capabilities(),
                initialization_options=options,
                workspace_folders=[
                    types.WorkspaceFolder(uri=uri, name=f"folder{i}") for i, uri in enumerate(folders)
                ],
            )
        )
        return client

    yield start
    for client in clients:
        await client.shutdown_session()
        await client.stop()
        assert client.error is None, f"server error: {client.error}"
