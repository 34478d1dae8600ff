"""Logging to the editor (`window/logMessage`) instead of stderr, so each line keeps its level there."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

_TYPES = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)


def message_type(level: int) -> types.MessageType:
    """The LSP message type for a logging level."""
    return next((kind for threshold, kind in _TYPES if level >= threshold), types.MessageType.Log)


class ClientLogHandler(logging.Handler):
    """Sends records as `window/logMessage` once the client is connected; keeps the first ones until then.

    Editors file a server's stderr under "error" whatever it says; this keeps info as info.
    """

    def __init__(self, backlog: int = 200) -> None:
        super().__init__()
        self._server: LanguageServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[tuple[int, str]] = deque(maxlen=backlog)

    def attach(self, server: LanguageServer) -> None:
        """Start sending (call on the event loop once the client has initialized)."""
        self._server = server
        self._loop = asyncio.get_running_loop()
        while self._pending:
            self._send(*self._pending.popleft())

    def _send(self, level: int, text: str) -> None:
        assert self._server is not None
        self._server.window_log_message(types.LogMessageParams(type=message_type(level), message=text))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        if self._server is None or self._loop is None:
            self._pending.append((record.levelno, text))
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._send(record.levelno, text)
        else:  # a worker thread: hand the line to the event loop
            self._loop.call_soon_threadsafe(self._send, record.levelno, text)


CLIENT_LOG = ClientLogHandler()
