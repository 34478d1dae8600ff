"""textDocument/completion for clients without inline completion: one item with the suggestion."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from lsprotocol import types

from spark_lsp.handlers.lifecycle import excluded

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer

_LABEL_CHARS = 60


def _item(text: str, position: types.Position) -> types.CompletionItem:
    first_line = text.strip().splitlines()[0] if text.strip() else text
    label = first_line if len(first_line) <= _LABEL_CHARS else first_line[: _LABEL_CHARS - 1] + "…"
    here = types.Range(start=position, end=position)
    return types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Snippet,
        detail="spark-lsp (AI suggestion)",
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```"),
        # An empty range at the cursor: nothing typed is replaced, and no word filter hides the item.
        text_edit=types.TextEdit(range=here, new_text=text),
        insert_text_format=types.InsertTextFormat.PlainText,
        # Sorted after the client's own (language server) items, never preselected over them.
        sort_text="\uffff",
        preselect=False,
    )


def register_completion(server: SparkLanguageServer) -> None:
    """Register the completion fallback (called at initialize, only when it is wanted)."""

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    async def completion(ls: SparkLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        received = time.perf_counter()
        session = ls.session
        uri, position = params.text_document.uri, params.position
        empty = types.CompletionList(is_incomplete=True, items=[])
        # Invoked by the user's own trigger (Ctrl+Space) or by typing: never debounced here, the
        # client already batches completion requests.
        request = session.inline_request(uri, position.line, position.character, False, received)
        if request is None or await excluded(ls, uri):
            return empty
        await session.wait_until_ready()
        work = session.completer.complete(request, session.inline_options(), None)
        task = session.start(uri, work)
        deadline = session.settings.inline.completion_deadline_ms / 1000.0
        try:
            # The client merges our list with its other servers' lists: answer within the deadline
            # and let a slow stream finish in the background, where it fills the typing-through cache
            # for the client's next (isIncomplete) request.
            suggestion = await asyncio.wait_for(asyncio.shield(task), deadline)
        except (TimeoutError, asyncio.CancelledError):
            if asyncio.current_task() is not None and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                task.cancel()
                raise
            session.keep(task)
            return empty
        if suggestion is None:
            return empty
        return types.CompletionList(is_incomplete=True, items=[_item(suggestion.text, position)])


def register(server: SparkLanguageServer) -> None:
    """Nothing at start-up: the completion fallback is registered during initialize if wanted."""
