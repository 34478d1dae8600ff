"""The inline-completion pipeline: cache, debounce, prompt, routed generation with early stop, clean-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from spark_lsp import logs
from spark_lsp.config import InlineSettings
from spark_lsp.engine.answer_shapes import normalize_answer
from spark_lsp.engine.cursor import cursor_context, prefix_tail, strip_eol
from spark_lsp.engine.debounce import TypingRhythm, WasteRate
from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.early_stop import EarlyStop
from spark_lsp.engine.filters import CompletionContext, apply_filters, runs_into_code_below
from spark_lsp.engine.flight import Answer, AnswerTheLineFirst, Flight, shown
from spark_lsp.engine.generation import Deadlines, Stopper, generate
from spark_lsp.engine.prompt import (
    FIM_TEMPLATES,
    Window,
    build_window,
    chat_messages,
    fim_prompt,
    guess_fim_template,
)
from spark_lsp.engine.redaction import contains_placeholder, redact
from spark_lsp.engine.router import Router, Tier
from spark_lsp.engine.stats import Stats
from spark_lsp.engine.suggestion_cache import TAIL_CHARS, CachedSuggestion, SuggestionCache
from spark_lsp.engine.tokens import LineTokenCounter
from spark_lsp.engine.typed_since import consistent, typed_since
from spark_lsp.providers.base import ModelRequest

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


@dataclass(frozen=True, slots=True)
class InlineOptions:
    """Per-request knobs from settings."""

    settings: InlineSettings
    deadlines: Deadlines
    hedge: bool = False
    naive: bool = False


def model_request(
    request: InlineRequest,
    context: CompletionContext,
    tier: Tier,
    settings: InlineSettings,
    counter: LineTokenCounter,
) -> ModelRequest:
    """The prompt for one tier's model: raw FIM or a chat hole-filling prompt."""
    assert tier.model is not None
    suffix_budget = int(settings.prompt_tokens * settings.suffix_share)
    window = build_window(
        request.lines,
        request.line,
        request.index,
        counter,
        settings.prompt_tokens - suffix_budget,
        suffix_budget,
    )
    window = redacted_window(window)
    max_tokens = settings.max_tokens_multi_line if context.multiline else settings.max_tokens_single_line
    fmt = tier.model_settings.prompt_format
    template_name: str = tier.model_settings.fim_template
    if fmt == "auto":
        guessed = guess_fim_template(tier.model)
        fmt = "fim" if guessed else "chat"
        template_name = guessed or template_name
    if fmt == "fim":
        template = FIM_TEMPLATES[template_name]
        return ModelRequest(
            model=tier.model,
            max_tokens=max_tokens,
            prompt=fim_prompt(window, template),
            stop=template.stop[:4],
            temperature=settings.temperature,
            redacted=True,
        )
    messages = chat_messages(window, request.language_id, context.multiline)
    return ModelRequest(
        model=tier.model,
        max_tokens=max_tokens,
        messages=tuple(messages),
        temperature=settings.temperature,
        redacted=True,
    )


class CursorInSecret(Exception):
    """The cursor is inside a secret literal: nothing may be sent."""


def redacted_window(window: Window) -> Window:
    """The window with secrets replaced; redacted as one text, since a secret may straddle the cursor."""
    joined = window.prefix + window.suffix
    redaction = redact(joined)
    if not redaction.secrets:
        return window
    cut = redaction.map_offset(len(window.prefix))
    if cut is None:
        raise CursorInSecret()
    return replace(window, prefix=redaction.text[:cut], suffix=redaction.text[cut:])


def _with_eol(text: str, eol: str) -> str:
    return text if eol == "\n" else text.replace("\n", eol)


class InlineCompleter:
    """Runs the pipeline; holds references to the session's shared state, owns none of it."""

    def __init__(
        self,
        cache: SuggestionCache,
        counter: LineTokenCounter,
        stats: Stats,
        router: Router,
        encoder_ready: Callable[[], Awaitable[None]],
    ) -> None:
        self.cache = cache
        self.counter = counter
        self.stats = stats
        self.router = router
        self._encoder_ready = encoder_ready
        # Called when a request has to go upstream: speculative work for that document is now moot.
        self.on_cache_miss: Callable[[str], None] | None = None
        # The document's current lines, to decide whether a cancelled generation is still wanted.
        self.current_lines: Callable[[str], Sequence[str] | None] = lambda uri: None
        self._flights: dict[str, Flight] = {}
        self.waste = WasteRate()

    def from_cache(self, request: InlineRequest, context: CompletionContext) -> Suggestion | None:
        """The rest of a visible suggestion the user is typing through, with no round-trip.

        Text "" means the model was asked about this very place and had nothing to add.
        """
        hit = self._lookup(request, context.line_suffix)
        if hit is None:
            return None
        entry, rest = hit
        if not entry.text:
            # Asking again on a keystroke would get the same nothing; an explicit invocation asks afresh.
            return Suggestion("", "cache") if request.automatic else None
        # Re-filter against the current context: e.g. an auto-closed bracket may now follow the cursor.
        # A multi-line suggestion stays multi-line while it is typed into, and once the line it
        # completed is done (accepted or typed), the lines read after it are shown.
        multiline = context.multiline or entry.multiline or rest.startswith("\n")
        text = apply_filters(rest, replace(context, multiline=multiline))
        return Suggestion(_with_eol(text, request.eol), "cache") if text else None

    def _lookup(self, request: InlineRequest, line_suffix: str) -> tuple[CachedSuggestion, str] | None:
        tail = prefix_tail(request.lines, request.line, request.index, TAIL_CHARS * 2).replace("\r\n", "\n")
        return self.cache.lookup(request.uri, request.line, request.index, tail, line_suffix)

    def knows(self, request: InlineRequest) -> bool:
        """Whether the cache already answers this place (with a suggestion, or with nothing to add)."""
        return self._lookup(request, strip_eol(request.lines[request.line])[request.index :]) is not None

    def flying(self, uri: str) -> bool:
        """Whether a generation for the document is still under way."""
        flight = self._flights.get(uri)
        return flight is not None and not flight.task.done()

    def remember(
        self, request: InlineRequest, context: CompletionContext, text: str, multiline: bool
    ) -> None:
        """Keep a suggestion for typing-through ("" = nothing to add at this place)."""
        tail = prefix_tail(request.lines, request.line, request.index, TAIL_CHARS).replace("\r\n", "\n")
        self.cache.put(
            request.uri,
            CachedSuggestion(request.line, request.index, tail, context.line_suffix, text, multiline),
        )

    async def complete(
        self, request: InlineRequest, options: InlineOptions, rhythm: TypingRhythm | None
    ) -> Suggestion | None:
        """Ghost text for the request, or None; cancellable at every await (the upstream closes too).

        `options.naive` turns every latency optimisation off, for the benchmark's baseline.
        """
        stats = self.stats
        stats.count("inline.requests")
        naive = options.naive
        context = cursor_context(request.lines, request.line, request.index, request.indent_unit, request.eol)
        cached = None if naive else self.from_cache(request, context)
        if cached is not None:
            stats.count("inline.cacheHits")
            stats.observe("inline.overhead", (time.perf_counter() - request.received_at) * 1000)
            return self._answered(request, cached)
        if not options.settings.enabled:
            return None
        reuse_started = time.perf_counter()
        try:
            reused = None if naive else await self._reuse_flight(request, context)
        except asyncio.CancelledError:
            stats.count("inline.cancelled")
            raise
        if reused is not None:
            return self._answered(request, reused)
        # Waiting on a stream that then did not serve (it failed, or went another way) was a wait on
        # the provider, not work of this server.
        reuse_wait = time.perf_counter() - reuse_started
        if self.on_cache_miss is not None:
            self.on_cache_miss(request.uri)

        flight: Flight | None = None
        try:
            waited = reuse_wait + await self._debounce(request, context, naive, rhythm)
            if naive or context.multiline or context.line_suffix:
                flight = self._start_flight(request, context, options, waited)
            else:
                # The end of a line being written: ask for the lines after it in the same round-trip.
                # The line is answered as soon as it is complete; the rest goes to the cache, shown
                # once the line is accepted, with no second request (nor a prefetch) for it.
                wide = replace(context, multiline=True)
                flight = self._start_flight(request, wide, options, waited, display=context)
            answer = await asyncio.shield(flight.answer)
        except asyncio.CancelledError:
            stats.count("inline.cancelled")
            if flight is not None:
                self._after_cancel(flight, naive)
            raise
        if answer is None:
            return None
        return self._answered(request, Suggestion(_with_eol(answer.text, request.eol), answer.tier))

    def _answered(self, request: InlineRequest, suggestion: Suggestion) -> Suggestion | None:
        """Count an answer to the editor; None when there is nothing to show."""
        self.stats.observe("inline.endToEnd", (time.perf_counter() - request.received_at) * 1000)
        if not suggestion.text:
            return None
        self.stats.count("inline.suggestions")
        return suggestion

    def _start_flight(
        self,
        request: InlineRequest,
        context: CompletionContext,
        options: InlineOptions,
        waited: float,
        series: str = "inline",
        display: CompletionContext | None = None,
    ) -> Flight:
        """Run the generation in its own task, so cancelling the request need not cancel it.

        `display`: the context the answer is shown in, when it is narrower than the one generated for.
        """
        previous = self._flights.pop(request.uri, None)
        if previous is not None:
            previous.task.cancel()
        holder: list[Flight] = []

        def stopper(tier: Tier) -> Stopper | None:
            if options.naive:
                return None
            flight = holder[0]
            flight.stopper = EarlyStop(context, options.settings.max_lines)
            if display is None:
                return flight.stopper
            return AnswerTheLineFirst(flight.stopper, display, flight, tier.name)

        async def fly() -> Answer | None:
            answer = await self.generate(
                request, context, options, waited=waited, series=series, make_stopper=stopper
            )
            if answer is not None and not options.naive:
                # Empty answers too: the next keystroke request at this place needs no round-trip.
                self.remember(request, context, answer.text, multiline=display is None)
                if answer.ends_at_code_below:
                    after = accepted(request, _with_eol(answer.text, request.eol))
                    self.remember(after, context, "", multiline=True)
                if series != "inline" and answer.text:  # inline ones are counted when answered
                    self.stats.count(f"{series}.suggestions")
            return answer

        loop = asyncio.get_running_loop()
        flight = Flight(request, context, loop.create_task(fly()), loop.create_future())
        holder.append(flight)
        self._flights[request.uri] = flight
        flight.task.add_done_callback(lambda task: self._landed(flight, display, series))
        return flight

    def _landed(self, flight: Flight, display: CompletionContext | None, series: str) -> None:
        """The flight's task ended: answer its request if the line did not already."""
        if self._flights.get(flight.request.uri) is flight:
            del self._flights[flight.request.uri]
        task, answer = flight.task, flight.answer
        if series == "inline":
            self.waste.record(task.cancelled())
        if task.cancelled():
            answer.cancel()
            return
        error = task.exception()
        if error is not None:
            logger.error("inline generation failed", exc_info=error)
        if answer.done():
            return
        result = None if error is not None else task.result()
        if result is not None and display is not None:
            result = replace(result, text=shown(result.text, display))
        answer.set_result(result)

    def _after_cancel(self, flight: Flight, naive: bool = False) -> None:
        """A request was cancelled: keep its stream only if the user is typing what it suggests."""
        if flight.task.done():
            return
        if naive:
            flight.task.cancel()
            return
        lines = self.current_lines(flight.request.uri)
        old = flight.request
        typed = None if lines is None else typed_since(old.lines, old.line, old.index, lines)
        if typed and consistent(typed, flight.partial()):
            self.stats.count("inline.adoptedStreams")
            return
        flight.task.cancel()  # closes the upstream stream at once

    async def _reuse_flight(self, request: InlineRequest, context: CompletionContext) -> Suggestion | None:
        """Answer from a generation already under way when this keystroke continues its suggestion."""
        flight = self._flights.get(request.uri)
        if flight is None:
            return None
        old = flight.request
        typed = typed_since(old.lines, old.line, old.index, request.lines)
        newlines = 0 if typed is None else typed.count("\n")
        at_end = (
            typed is not None
            and request.line == old.line + newlines
            and request.index
            == (old.index + len(typed) if newlines == 0 else len(typed) - typed.rfind("\n") - 1)
        )
        partial = flight.partial()
        if typed is None or not at_end or not consistent(typed, partial):
            flight.task.cancel()
            return None
        # Even with nothing streamed yet beyond what was typed, the stream started earlier than a new
        # request could: its answer comes sooner, and if it does not continue what was typed, a new
        # request goes out then.
        self.stats.count("inline.reusedStreams")
        try:
            await asyncio.wait([flight.task])  # never raises the flight's own failure (logged when it lands)
        except asyncio.CancelledError:
            self._after_cancel(flight)
            raise
        cached = self.from_cache(request, context)
        if cached is not None:
            self.stats.count("inline.cacheHits")
        return cached

    async def _debounce(
        self, request: InlineRequest, context: CompletionContext, naive: bool, rhythm: TypingRhythm | None
    ) -> float:
        """Wait before an automatic request goes out; returns the seconds waited."""
        if not request.automatic:
            return 0.0
        if naive or rhythm is None:
            delay = NAIVE_DEBOUNCE_MS
        else:
            delay = rhythm.delay_ms(context.line_prefix[-1:] or "\n", time.monotonic(), self.waste.value)
        if delay <= 0:
            return 0.0
        started = time.perf_counter()
        await asyncio.sleep(delay / 1000.0)
        return time.perf_counter() - started

    async def generate(
        self,
        request: InlineRequest,
        context: CompletionContext,
        options: InlineOptions,
        waited: float = 0.0,
        series: str = "inline",
        make_stopper: Callable[[Tier], Stopper | None] | None = None,
    ) -> Answer | None:
        """One routed round-trip, read until the answer is complete and cleaned up; None: no answer."""
        stats = self.stats
        if not self.router.candidates_exist("inline"):
            return None
        await self._encoder_ready()
        settings = options.settings

        def build(tier: Tier) -> ModelRequest:
            built = model_request(request, context, tier, settings, self.counter)
            logs.trace(
                "%s prompt for %s to %s: %r", series, request.uri, tier.name, built.prompt or built.messages
            )
            return built

        def stopper(tier: Tier) -> Stopper | None:
            return None if options.naive else EarlyStop(context, settings.max_lines)

        try:
            generation = await generate(
                self.router,
                "inline",
                build,
                options.deadlines,
                stats,
                make_stopper or stopper,
                hedge=options.hedge,
            )
        except CursorInSecret:
            stats.count(f"{series}.cursorInSecret")
            return None
        if generation is None:
            return None
        normalized = normalize_answer(generation.text, context)
        text = apply_filters(normalized, context)
        if contains_placeholder(text):
            # The model copied a redaction placeholder: accepting it would replace the user's secret.
            stats.count(f"{series}.placeholderAnswers")
            text = ""
        logs.trace("%s answer from %s: %r, shown: %r", series, generation.tier.name, generation.text, text)
        if generation.first_token_s is not None:
            stats.observe(f"{series}.timeToFirstToken", generation.first_token_s * 1000)
        stats.observe(f"{series}.upstream", generation.upstream_s * 1000)
        if series == "inline":
            elapsed = time.perf_counter() - request.received_at
            # Failed attempts before this one (a 429, a stall until the first-token deadline) are
            # waits on providers too, not time spent in this server.
            stats.observe("inline.overhead", (elapsed - waited - generation.attempts_s) * 1000)
        if not text:
            stats.count(f"{series}.empty")
        return Answer(text, generation.tier.name, runs_into_code_below(normalized, text, context))

    def prefetch(self, future: InlineRequest, options: InlineOptions) -> asyncio.Task[Answer | None]:
        """Fetch what follows a shown suggestion as if it were accepted (`future`, see `accepted`), so
        that accepting it, then typing on (usually Enter and the editor's indentation), is answered
        from the cache.

        It runs as the document's flight: a request that arrives at the place it was made for (the
        user accepted) waits for it instead of asking again.
        """
        context = cursor_context(
            future.lines, future.line, future.index, future.indent_unit, future.eol, multiline=True
        )
        self.stats.count("prefetch.requests")
        return self._start_flight(future, context, options, 0.0, series="prefetch").task


def accepted(request: InlineRequest, text: str) -> InlineRequest:
    """The request as it would be after `text` (in document line endings) is inserted at the cursor."""
    current = request.lines[request.line]
    inserted = split_lines(current[: request.index] + text + current[request.index :])
    if request.line + 1 < len(request.lines):
        inserted.pop()  # the "" after the line's own terminator: the next line follows instead
    lines = (*request.lines[: request.line], *inserted, *request.lines[request.line + 1 :])
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    newlines = normalized.count("\n")
    index = request.index + len(text) if newlines == 0 else len(normalized) - normalized.rfind("\n") - 1
    return replace(request, lines=lines, line=request.line + newlines, index=index, automatic=False)
