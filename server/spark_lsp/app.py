"""The language server: our protocol (documents kept by the session only) and feature registration."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Generator
from contextvars import ContextVar
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.constants import ATTR_EXECUTE_IN_THREAD
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.language_server import _prepare_command_arguments

from spark_lsp import __version__
from spark_lsp.session import Session

# The `workspace/executeCommand` params of the command running in this task (for its workDoneToken).
current_command: ContextVar[types.ExecuteCommandParams | None] = ContextVar("current_command", default=None)


class SparkProtocol(LanguageServerProtocol):
    """pygls' protocol without its own copy of each document.

    pygls re-splits a whole document on every incremental change; the session's store edits only the
    touched lines, so keeping both would double the per-keystroke cost for nothing.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls drops a request whose params don't fit the method; answer it with InvalidParams."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" in data and "method" in data:
                method = str(data["method"])[:80]
                reply = JsonRpcInvalidParams(f"invalid params for {method}: {error.message or error.MESSAGE}")
                self._send_response(data["id"], error=reply.to_response_error())
            raise

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        # Hover is off by default and editors hover on every mouse rest: where the client can take a
        # registration later, advertise hover only once it is enabled (see handlers/lifecycle.py).
        text_document = params.capabilities.text_document
        hover = text_document.hover if text_document else None
        session = self._server.session  # type: ignore[attr-defined]
        if hover is not None and hover.dynamic_registration and not session.settings.hover.enabled:
            result.capabilities.hover_provider = None
            session.hover_registration = "dynamic"
        return result

    def _user_handler(self, method: str, params: Any) -> None:
        # Plain functions on purpose: pygls keeps the future of every generator or coroutine
        # notification handler in `_request_futures` for ever (a leak of ~1.4 KB per keystroke).
        if (handler := self.fm.features.get(method)) is not None:
            handler(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]  # async on purpose, see below
        self, params: types.ExecuteCommandParams
    ) -> Any:
        """Run a command in the request's own task, so that `$/cancelRequest` reaches it.

        pygls runs a command as a separate task under a made-up id: cancelling the request answered
        the client but left the command running (a refactor would still have applied its edit).
        """
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams.of(ValueError(f"Command name {params.command!r} is not defined"))
        try:
            args, kwargs = _prepare_command_arguments(handler, params, self._converter)
        except Exception as error:
            raise JsonRpcInvalidParams.of(error) from error
        token = current_command.set(params)
        try:
            if getattr(handler, ATTR_EXECUTE_IN_THREAD, False):  # a `@server.thread()` command
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._server.thread_pool, partial(handler, *args, **kwargs))
            result = handler(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        finally:
            current_command.reset(token)


class SparkLanguageServer(LanguageServer):
    """The server; all mutable state lives in `self.session`."""

    def __init__(self) -> None:
        super().__init__(
            "spark-lsp",
            __version__,
            protocol_cls=SparkProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.session = Session()


def create_server() -> SparkLanguageServer:
    """A server with every feature registered."""
    from spark_lsp.handlers import (
        code_actions,
        commands,
        completion,
        documents,
        hover,
        inline_completion,
        lifecycle,
        stats,
    )

    server = SparkLanguageServer()
    for module in (lifecycle, documents, inline_completion, completion, stats, code_actions, hover, commands):
        module.register(server)
    return server
