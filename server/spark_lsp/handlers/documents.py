"""didOpen / didChange / didClose: keep the session's documents in sync, note typing rhythm."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from spark_lsp.engine.documents import ContentChange, DocumentNotOpen

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer

logger = logging.getLogger(__name__)


def _change(change: types.TextDocumentContentChangeEvent) -> ContentChange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return ((start.line, start.character), (end.line, end.character), change.text)
    return change.text


def register(server: SparkLanguageServer) -> None:
    """Register document synchronisation handlers."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SparkLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        # Synchronous on purpose: an async handler would run as a task, after a didChange that may
        # already be queued behind this notification.
        doc = params.text_document
        session = ls.session
        session.documents.open(doc.uri, doc.language_id, doc.version, doc.text)
        # Decide exclusion now, in the background (ignore files are read off the event loop), so the
        # first keystroke doesn't wait for it.
        session.keep(asyncio.ensure_future(session.exclusion_for(doc.uri)))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SparkLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        session = ls.session
        uri = params.text_document.uri
        try:
            session.documents.change(
                uri,
                [_change(c) for c in params.content_changes],
                params.text_document.version,
                session.encoding,
            )
        except DocumentNotOpen:
            logger.warning("didChange for a document that is not open: %s", uri)
            return
        session.keystroke(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SparkLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.session.documents.close(uri)
        ls.session.forget(uri)
