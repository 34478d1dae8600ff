"""textDocument/hover: a short AI explanation of the symbol or line under the cursor (off by default)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from lsprotocol import types

from spark_lsp.config import deadline
from spark_lsp.engine.generation import Deadlines, generate
from spark_lsp.engine.hover import HoverCache, HoverTarget, clean_explanation, hover_messages, hover_target
from spark_lsp.engine.router import Tier
from spark_lsp.handlers.lifecycle import excluded
from spark_lsp.providers.base import ModelRequest

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer


async def _explain(ls: SparkLanguageServer, target: HoverTarget, deadline_s: float) -> str | None:
    """One routed request for the explanation, bounded by the hover deadline."""
    session = ls.session
    settings = session.settings
    routing = deadline(settings, "hover")
    total_s = min(routing.total_ms / 1000.0, deadline_s)
    deadlines = Deadlines(min(routing.first_token_ms / 1000.0, total_s), total_s)
    messages = tuple(hover_messages(target))

    def build(tier: Tier) -> ModelRequest:
        assert tier.model is not None
        return ModelRequest(
            model=tier.model, max_tokens=settings.hover.max_tokens, messages=messages, temperature=0.0
        )

    generation = await generate(session.router, "hover", build, deadlines, session.stats)
    return None if generation is None else clean_explanation(generation.text)


def register(server: SparkLanguageServer) -> None:
    """Register hover; its cache lives as long as the server."""
    cache = HoverCache()

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: SparkLanguageServer, params: types.HoverParams) -> types.Hover | None:
        session = ls.session
        settings = session.settings.hover
        if not settings.enabled:
            return None
        snapshot = session.documents.snapshot(params.text_document.uri)
        if snapshot is None or await excluded(ls, params.text_document.uri):
            return None
        position = params.position
        line, index = snapshot.position_to_index(position.line, position.character, session.encoding)
        target = hover_target(
            snapshot.lines, line, index, snapshot.language_id, session.counter, settings.context_tokens
        )
        if target is None:
            return None
        cache.capacity = settings.cache_size
        text = cache.get(target.key)
        if text is not None:
            session.stats.count("hover.cacheHits")
        else:
            session.stats.count("hover.requests")
            session.last_activity = time.monotonic()  # keeps the pooled connections warm
            deadline_s = settings.deadline_ms / 1000.0
            try:
                # Everything, start-up wait included, within the deadline: a late hover is no hover.
                async with asyncio.timeout(deadline_s):
                    await session.wait_until_ready(deadline_s)
                    text = await _explain(ls, target, deadline_s)
            except TimeoutError:
                text = None
            if text is None:
                session.stats.count("hover.empty")
                return None
            cache.put(target.key, text)
        start = snapshot.index_to_position(line, target.start, session.encoding)
        end = snapshot.index_to_position(line, target.end, session.encoding)
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=types.Range(
                start=types.Position(line=start[0], character=start[1]),
                end=types.Position(line=end[0], character=end[1]),
            ),
        )
