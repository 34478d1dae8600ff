"""Fixtures: simulators as subprocesses and pytest-lsp clients that start `spark-lsp serve`."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.sim_process import SimProcess

MODEL = "sim-spark-coder"
GPU_MODEL = "sim-gpu-coder"


@pytest.fixture(scope="session")
def sim_session() -> Iterator[SimProcess]:
    sim = SimProcess("--profile", "instant", "--model", MODEL)
    yield sim
    sim.stop()


@pytest.fixture
def sim(sim_session: SimProcess) -> SimProcess:
    """The plain-HTTP simulator, reset for each test."""
    sim_session.reset()
    return sim_session


@pytest.fixture(scope="session")
def gpu_session() -> Iterator[SimProcess]:
    sim = SimProcess("--profile", "instant", "--model", GPU_MODEL)
    yield sim
    sim.stop()


@pytest.fixture
def gpu(gpu_session: SimProcess) -> SimProcess:
    """The GPU-tier simulator, reset for each test."""
    gpu_session.reset()
    return gpu_session


def capabilities(spec: str = "visual-studio-code", inline: bool = True) -> types.ClientCapabilities:
    """A real client's capabilities; bundled sets do not declare inline completion, so add it."""
    caps = client_capabilities(spec)
    if inline:
        assert caps.text_document is not None
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(
            dynamic_registration=False
        )
    return caps


def server_env(sim: SimProcess | None, **extra: str) -> dict[str, str]:
    """The server's environment: pointed at the simulator, with no real key ever used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CEREBRAS_", "SPARK_LSP_"))}
    if sim is not None:
        env.update(
            {"CEREBRAS_BASE_URL": sim.url, "CEREBRAS_API_KEY": "sim-key", "SPARK_LSP_FAST_MODEL": MODEL}
        )
        if sim.cert:
            env["SSL_CERT_FILE"] = sim.cert
    env.update(extra)
    return env


def two_tiers(fast: SimProcess, gpu: SimProcess, **extra: str) -> dict[str, str]:
    """A server environment with both tiers on simulators."""
    return server_env(
        fast,
        SPARK_LSP_GPU_BASE_URL=gpu.url + "/v1",
        SPARK_LSP_GPU_MODEL=GPU_MODEL,
        SPARK_LSP_GPU_API_KEY="k",
        **extra,
    )


StartClient = Callable[..., Awaitable[LanguageClient]]


@pytest_asyncio.fixture
async def start_client() -> AsyncIterator[StartClient]:
    """Start `spark-lsp serve` with a given environment, capabilities and options; shut all down after."""
    clients: list[LanguageClient] = []

    async def start(
        env: dict[str, str],
        caps: types.ClientCapabilities | None = None,
        options: Any = None,
        configuration: dict[str, Any] | None = None,
        workspace: str | None = None,
        args: tuple[str, ...] = (),
    ) -> LanguageClient:
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "spark_lsp", "serve", *args], server_env=env
        )
        client: LanguageClient = await config.start()  # type: ignore[assignment]
        client.status_notifications = []  # type: ignore[attr-defined]
        client.registered_methods = []  # type: ignore[attr-defined]

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: types.RegistrationParams) -> None:
            client.registered_methods.extend(r.method for r in params.registrations)  # type: ignore[attr-defined]

        @client.feature("spark/status")
        def on_status(params: Any) -> None:
            client.status_notifications.append(params)  # type: ignore[attr-defined]

        if configuration is not None:
            client.set_configuration(configuration)
        clients.append(client)
        folders = [types.WorkspaceFolder(uri=workspace, name="workspace")] if workspace else None
        client.initialize_result = await client.initialize_session(  # type: ignore[attr-defined]
            types.InitializeParams(
                capabilities=caps or capabilities(),
                initialization_options=options,
                workspace_folders=folders,
                root_uri=workspace,
            )
        )
        return client

    yield start
    for client in clients:
        await client.shutdown_session()
        await client.stop()
        assert client.error is None, f"server error: {client.error}"


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    """Send didOpen."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        )
    )


def inline_params(uri: str, line: int, character: int, invoked: bool = True) -> types.InlineCompletionParams:
    """An inline completion request at a position (Invoked = no debounce)."""
    kind = (
        types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    )
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    """Send an incremental didChange inserting `text` at (line, character)."""
    here = types.Position(line=line, character=character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=types.Range(start=here, end=here), text=text)
            ],
        )
    )


async def stats(client: LanguageClient) -> dict[str, Any]:
    """The server's `spark/stats`."""
    result = await client.protocol.send_request_async("spark/stats", {})
    return _plain(result)  # type: ignore[no-any-return]


def counter(report: dict[str, Any], name: str) -> int:
    """A counter from a `spark/stats` report by its dotted name (0 when never counted)."""
    node: Any = report["counters"]
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return 0
        node = node[part]
    return int(node)


def _plain(value: Any) -> Any:
    """pygls turns unknown results into namedtuples; tests want plain dicts."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def request_inline(
    client: LanguageClient, params: types.InlineCompletionParams
) -> tuple[str, asyncio.Future[Any]]:
    """Send an inline completion request without waiting; its id lets the test cancel it."""
    msg_id = str(uuid.uuid4())
    future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
    return msg_id, asyncio.wrap_future(future)


def cancel_request(client: LanguageClient, msg_id: str) -> None:
    """Send `$/cancelRequest` as an editor does when the user keeps typing."""
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
