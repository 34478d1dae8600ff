"""textDocument/inlineCompletion: ghost text at the cursor."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lsprotocol import types

from spark_lsp.handlers.lifecycle import excluded
from spark_lsp.session import Superseded

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer


def register(server: SparkLanguageServer) -> None:
    """Register the inline completion handler (advertised only with InlineCompletionOptions)."""

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: SparkLanguageServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        received = time.perf_counter()
        session = ls.session
        uri, position = params.text_document.uri, params.position
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        request = session.inline_request(uri, position.line, position.character, automatic, received)
        if request is None or await excluded(ls, uri):
            return None
        await session.wait_until_ready()
        work = session.completer.complete(request, session.inline_options(), session.rhythm(uri))
        try:
            suggestion = await session.latest(uri, work)
        except Superseded:
            return None
        if suggestion is None:
            return None
        session.prefetch(request, suggestion.text)
        here = types.Position(line=position.line, character=position.character)
        item = types.InlineCompletionItem(
            insert_text=suggestion.text, range=types.Range(start=here, end=here)
        )
        return types.InlineCompletionList(items=[item])
