"""The editor's end of the wire: starts `spark-lsp serve` over stdio and speaks LSP to it like VS Code."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from spark_lsp import __version__

START_TIMEOUT_S = 30.0
STATS_REQUEST = "spark/stats"


class ServerGone(RuntimeError):
    """The language server exited or stopped answering."""


def capabilities() -> types.ClientCapabilities:
    """What the benchmark's editor declares: incremental sync, UTF-16 positions, inline completion."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(dynamic_registration=False),
            inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=False),
        ),
        window=types.WindowClientCapabilities(work_done_progress=False),
    )


def plain(value: Any) -> Any:
    """pygls turns results of unknown requests into namedtuples; the benchmark wants plain JSON data."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class BenchClient:
    """One `spark-lsp serve` process and the pygls client driving it."""

    def __init__(self, client: LanguageClient, log_path: Path) -> None:
        self.client = client
        self.log_path = log_path
        self.messages: list[str] = []
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._drain: asyncio.Task[None] | None = None
        self._ids = 0

        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        def ignore(params: Any) -> None:
            pass

        # pygls' decorator is untyped: register through a typed name instead of decorating.
        for method, handler in (
            (types.WINDOW_SHOW_MESSAGE, show_message),
            (types.WINDOW_LOG_MESSAGE, ignore),
            ("spark/status", ignore),
        ):
            register: Callable[[Callable[..., None]], object] = client.feature(method)
            register(handler)

    @classmethod
    async def start(cls, env: dict[str, str], options: dict[str, Any] | None, log_path: Path) -> BenchClient:
        """Start the server, initialize it with `options` as initializationOptions, and return the client."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        bench = cls(LanguageClient("spark-lsp-bench", __version__), log_path)
        command = ["-m", "spark_lsp", "serve", "--log-file", str(log_path)]
        await bench.client.start_io(sys.executable, *command, env=env)
        process = bench.process
        if process.stderr is not None:
            # Nobody else reads the server's stderr pipe: a full pipe would block the server.
            bench._drain = asyncio.ensure_future(bench._read_stderr(process.stderr))
        params = types.InitializeParams(
            capabilities=capabilities(),
            process_id=os.getpid(),
            client_info=types.ClientInfo(name="spark-lsp-bench", version=__version__),
            initialization_options=options,
        )
        try:
            await asyncio.wait_for(bench.client.initialize_async(params), START_TIMEOUT_S)
        except Exception as error:
            detail = bench.exit_detail()
            await bench.kill()
            raise ServerGone(f"initialize failed: {error!r}; {detail}") from error
        bench.client.initialized(types.InitializedParams())
        return bench

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The server process."""
        process = self.client._server
        assert process is not None
        return process

    @property
    def pid(self) -> int:
        """The server's process id (for RSS sampling)."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.process.returncode is None and not self.client.stopped

    def exit_detail(self) -> str:
        """The exit code and the last lines of stderr, for reports."""
        code = self.process.returncode
        tail = " | ".join(list(self.stderr_tail)[-8:])
        state = "running" if code is None else f"exited with code {code}"
        return f"server {state}; log {self.log_path}; stderr: {tail or '(empty)'}"

    # Documents -----------------------------------------------------------------------------------
    def open(self, uri: str, language_id: str, text: str, version: int = 1) -> None:
        """didOpen."""
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=version, text=text
                )
            )
        )

    def change(self, uri: str, version: int, line: int, character: int, text: str) -> None:
        """An incremental didChange inserting `text` at (line, character)."""
        here = types.Position(line=line, character=character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(start=here, end=here), text=text)
                ],
            )
        )

    def close(self, uri: str) -> None:
        """didClose."""
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    # Requests ------------------------------------------------------------------------------------
    def inline(self, uri: str, line: int, character: int, invoked: bool = False) -> tuple[str, Future[Any]]:
        """Send `textDocument/inlineCompletion` without waiting; returns its id and future."""
        self._ids += 1
        msg_id = f"bench-{self._ids}"
        kind = (
            types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        )
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
        future = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
        return msg_id, future

    def cancel(self, msg_id: str) -> None:
        """`$/cancelRequest`, as VS Code sends when the user types on before the answer."""
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    async def stats(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The server's `spark/stats`."""
        request = self.client.protocol.send_request_async(STATS_REQUEST, {})
        try:
            result = await asyncio.wait_for(request, timeout_s)
        except TimeoutError:
            raise ServerGone(f"{STATS_REQUEST} got no answer within {timeout_s:g} s") from None
        stats: dict[str, Any] = plain(result)
        return stats

    # Shutdown ------------------------------------------------------------------------------------
    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """shutdown + exit, then wait for the process; kill it if it does not go."""
        if self.alive():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.shutdown_async(None), timeout_s)
            with contextlib.suppress(Exception):
                self.client.exit(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), timeout_s)
        await self.kill()

    async def kill(self) -> None:
        """Stop the process and the client's tasks, whatever state they are in."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        with contextlib.suppress(Exception):
            stop: Callable[[], Awaitable[None]] = self.client.stop
            await asyncio.wait_for(stop(), 5.0)
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
