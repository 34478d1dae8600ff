"""A generation under way for a document: the task reading the stream, and the answer a request awaits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_lsp.engine.early_stop import EarlyStop
from spark_lsp.engine.filters import CompletionContext, apply_filters
from spark_lsp.engine.redaction import contains_placeholder

if TYPE_CHECKING:
    from spark_lsp.engine.inline import InlineRequest


@dataclass(frozen=True, slots=True)
class Answer:
    """A cleaned-up model answer: "\\n"-separated text ("" = nothing worth showing) and its tier."""

    text: str
    tier: str
    # The model went on into the code below where the text ends: nothing more to ask for after it.
    ends_at_code_below: bool = False


@dataclass(slots=True)
class Flight:
    """A generation under way for a document, which a later keystroke may adopt instead of cancelling.

    `answer` is what the request that started it gets: for a line being written, the line as soon as
    it is complete, while the task reads the lines after it into the cache for after the Tab.
    """

    request: InlineRequest
    context: CompletionContext
    task: asyncio.Task[Answer | None]
    answer: asyncio.Future[Answer | None]
    stopper: EarlyStop | None = None

    def partial(self) -> str:
        """The suggestion so far ("" before the first token)."""
        return self.stopper.partial() if self.stopper is not None else ""


class AnswerTheLineFirst:
    """Reads a multi-line stream for a line being written; answers with the line once it is complete."""

    def __init__(self, stop: EarlyStop, display: CompletionContext, flight: Flight, tier: str) -> None:
        self._stop = stop
        self._display = display
        self._flight = flight
        self._tier = tier

    def should_stop(self, raw: str) -> bool:
        """The early stop's decision; on the way, the line for the waiting request."""
        stop = self._stop.should_stop(raw)
        answer = self._flight.answer
        # A chat answer opening with a fence or tag is judged whole: its first line is not code.
        if not answer.done() and "\n" in raw and not raw.lstrip().startswith(("```", "<")):
            partial = self._stop.partial()
            if "\n" in partial:
                answer.set_result(Answer(shown(partial, self._display), self._tier))
        return stop

    def on_deadline(self, raw: str) -> str | None:
        """The early stop's answer."""
        return self._stop.on_deadline(raw)

    def on_stop(self, raw: str) -> str:
        """The early stop's answer."""
        return self._stop.on_stop(raw)


def shown(text: str, context: CompletionContext) -> str:
    """What may be shown of a normalised answer in this context ("" for nothing)."""
    text = apply_filters(text, context)
    # The model copied a redaction placeholder: accepting it would replace the user's secret.
    return "" if contains_placeholder(text) else text
