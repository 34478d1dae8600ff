"""The inline-completion pipeline: cache, debounce, prompt, stream with early stop, clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from spark_lsp.config import InlineSettings, ModelSettings
from spark_lsp.engine.answer_shapes import normalize_answer
from spark_lsp.engine.cursor import cursor_context, prefix_tail
from spark_lsp.engine.debounce import TypingRhythm
from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.early_stop import EarlyStop
from spark_lsp.engine.filters import CompletionContext, apply_filters
from spark_lsp.engine.prompt import FIM_TEMPLATES, build_window, chat_messages, fim_prompt, guess_fim_template
from spark_lsp.engine.stats import Stats
from spark_lsp.engine.suggestion_cache import TAIL_CHARS, CachedSuggestion, SuggestionCache
from spark_lsp.engine.tokens import LineTokenCounter
from spark_lsp.providers.base import ModelRequest, Provider, ProviderError, StreamInfo

logger = logging.getLogger(__name__)
# The baseline a benchmark compares against: a fixed debounce like most plugins use.
NAIVE_DEBOUNCE_MS = 150.0


@dataclass(frozen=True, slots=True)
class InlineRequest:
    """One request for ghost text at a cursor in a frozen snapshot."""

    uri: str
    version: int
    language_id: str
    lines: Sequence[str]
    line: int
    index: int
    indent_unit: str
    eol: str
    automatic: bool
    received_at: float  # time.perf_counter() when the request reached the server


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Text to insert at the cursor (in the document's line endings) and where it came from."""

    text: str
    source: str


@dataclass(slots=True)
class Upstream:
    """The provider and model the pipeline calls (None when no key is configured)."""

    provider: Provider | None
    model: str | None
    model_settings: ModelSettings


def _model_request(
    request: InlineRequest,
    context: CompletionContext,
    upstream: Upstream,
    settings: InlineSettings,
    counter: LineTokenCounter,
) -> ModelRequest:
    assert upstream.model is not None
    suffix_budget = int(settings.prompt_tokens * settings.suffix_share)
    window = build_window(
        request.lines,
        request.line,
        request.index,
        counter,
        settings.prompt_tokens - suffix_budget,
        suffix_budget,
    )
    max_tokens = settings.max_tokens_multi_line if context.multiline else settings.max_tokens_single_line
    fmt = upstream.model_settings.prompt_format
    template_name: str = upstream.model_settings.fim_template
    if fmt == "auto":
        guessed = guess_fim_template(upstream.model)
        fmt = "fim" if guessed else "chat"
        template_name = guessed or template_name
    if fmt == "fim":
        template = FIM_TEMPLATES[template_name]
        return ModelRequest(
            model=upstream.model,
            max_tokens=max_tokens,
            prompt=fim_prompt(window, template),
            stop=template.stop[:4],
            temperature=settings.temperature,
        )
    messages = chat_messages(window, request.language_id, context.multiline)
    return ModelRequest(
        model=upstream.model,
        max_tokens=max_tokens,
        messages=tuple(messages),
        temperature=settings.temperature,
    )


def _with_eol(text: str, eol: str) -> str:
    return text if eol == "\n" else text.replace("\n", eol)


class InlineCompleter:
    """Runs the pipeline; holds references to the session's shared state, owns none of it."""

    def __init__(
        self,
        cache: SuggestionCache,
        counter: LineTokenCounter,
        stats: Stats,
        encoder_ready: Callable[[], Awaitable[None]],
    ) -> None:
        self.cache = cache
        self.counter = counter
        self.stats = stats
        self._encoder_ready = encoder_ready
        # Called when a request has to go upstream: speculative work for that document is now moot.
        self.on_cache_miss: Callable[[str], None] | None = None

    def from_cache(self, request: InlineRequest, context: CompletionContext) -> Suggestion | None:
        """The rest of a visible suggestion the user is typing through, with no round-trip."""
        tail = prefix_tail(request.lines, request.line, request.index, TAIL_CHARS * 2).replace("\r\n", "\n")
        hit = self.cache.lookup(request.uri, request.line, request.index, tail, context.line_suffix)
        if hit is None:
            return None
        _, rest = hit
        # Re-filter against the current context: e.g. an auto-closed bracket may now follow the cursor.
        text = apply_filters(rest, context)
        return Suggestion(_with_eol(text, request.eol), "cache") if text else None

    def remember(self, request: InlineRequest, context: CompletionContext, text: str) -> None:
        """Keep a shown suggestion for typing-through."""
        tail = prefix_tail(request.lines, request.line, request.index, TAIL_CHARS).replace("\r\n", "\n")
        self.cache.put(
            request.uri,
            CachedSuggestion(request.line, request.index, tail, context.line_suffix, text, context.multiline),
        )

    async def complete(
        self,
        request: InlineRequest,
        settings: InlineSettings,
        upstream: Upstream,
        rhythm: TypingRhythm | None,
        naive: bool = False,
    ) -> Suggestion | None:
        """Ghost text for the request, or None; cancellable at every await (the upstream closes too).

        `naive` turns every latency optimisation off, for the benchmark's baseline.
        """
        stats = self.stats
        stats.count("inline.requests")
        started = request.received_at
        context = cursor_context(request.lines, request.line, request.index, request.indent_unit, request.eol)
        cached = None if naive else self.from_cache(request, context)
        if cached is not None:
            stats.count("inline.cacheHits")
            stats.observe("inline.overhead", (time.perf_counter() - started) * 1000)
            stats.observe("inline.endToEnd", (time.perf_counter() - started) * 1000)
            return cached
        if upstream.provider is None or upstream.model is None or not settings.enabled:
            return None
        if self.on_cache_miss is not None:
            self.on_cache_miss(request.uri)

        waited = 0.0
        if request.automatic and (naive or rhythm is not None):
            before = context.line_prefix[-1:] or "\n"
            if naive or rhythm is None:
                delay = NAIVE_DEBOUNCE_MS
            else:
                delay = rhythm.delay_ms(before, time.monotonic())
            if delay > 0:
                wait_started = time.perf_counter()
                await asyncio.sleep(delay / 1000.0)
                waited = time.perf_counter() - wait_started
        text = await self.generate(request, context, settings, upstream, early_stop=not naive, waited=waited)
        if not text:
            return None
        if not naive:
            self.remember(request, context, text)
        stats.count("inline.suggestions")
        return Suggestion(_with_eol(text, request.eol), upstream.provider.tier)

    async def generate(
        self,
        request: InlineRequest,
        context: CompletionContext,
        settings: InlineSettings,
        upstream: Upstream,
        early_stop: bool = True,
        waited: float = 0.0,
        series: str = "inline",
    ) -> str:
        """One upstream round-trip, read until the answer is complete, cleaned up; "" when nothing."""
        stats = self.stats
        provider = upstream.provider
        assert provider is not None
        await self._encoder_ready()
        model_request = _model_request(request, context, upstream, settings, self.counter)
        stop = EarlyStop(context, settings.max_lines) if early_stop else None
        info = StreamInfo()
        raw = ""
        upstream_started = time.perf_counter()
        first_token_at: float | None = None
        stats.count(f"upstream.{provider.tier}.calls")
        try:
            async with contextlib.aclosing(provider.stream(model_request, info)) as pieces:
                async for piece in pieces:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    raw += piece
                    if stop is not None and stop.should_stop(raw):
                        stats.count(f"{series}.earlyStops")
                        break
        except ProviderError as error:
            stats.count(f"upstream.{provider.tier}.errors")
            stats.count(f"errors.{error.kind}")
            logger.warning("%s tier failed: %s", provider.tier, error)
            return ""
        except asyncio.CancelledError:
            stats.count(f"{series}.cancelled")
            raise
        upstream_done = time.perf_counter()

        text = apply_filters(normalize_answer(raw, context), context)
        finished = time.perf_counter()
        upstream_seconds = upstream_done - upstream_started
        if first_token_at is not None:
            stats.observe(f"{series}.timeToFirstToken", (first_token_at - upstream_started) * 1000)
        stats.observe(f"{series}.upstream", upstream_seconds * 1000)
        if series == "inline":
            started = request.received_at
            stats.observe("inline.overhead", (finished - started - waited - upstream_seconds) * 1000)
            stats.observe("inline.endToEnd", (finished - started) * 1000)
        if not text:
            stats.count(f"{series}.empty")
        return text

    async def prefetch(
        self, request: InlineRequest, shown: str, settings: InlineSettings, upstream: Upstream
    ) -> None:
        """Fetch what follows `shown` as if it were accepted, so that accepting it, then typing on
        (usually Enter and the editor's indentation), is answered from the cache.
        """
        if upstream.provider is None or upstream.model is None:
            return
        future = accepted(request, shown)
        context = cursor_context(
            future.lines, future.line, future.index, future.indent_unit, future.eol, multiline=True
        )
        self.stats.count("prefetch.requests")
        text = await self.generate(future, context, settings, upstream, series="prefetch")
        if text:
            self.remember(future, context, text)
            self.stats.count("prefetch.suggestions")


def accepted(request: InlineRequest, text: str) -> InlineRequest:
    """The request as it would be after `text` (in document line endings) is inserted at the cursor."""
    current = request.lines[request.line]
    inserted = split_lines(current[: request.index] + text + current[request.index :])
    lines = (*request.lines[: request.line], *inserted, *request.lines[request.line + 1 :])
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    newlines = normalized.count("\n")
    index = request.index + len(text) if newlines == 0 else len(normalized) - normalized.rfind("\n") - 1
    return replace(request, lines=lines, line=request.line + newlines, index=index, automatic=False)
