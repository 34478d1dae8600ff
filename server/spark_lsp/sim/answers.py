"""Decides what the simulated model says: a scripted response, the perfect model's truth, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spark_lsp.sim.fault_mix import draw_fault
from spark_lsp.sim.inference import InferenceRequest
from spark_lsp.sim.script import ScriptEntry
from spark_lsp.sim.state import SimState
from spark_lsp.sim.tokens import count_tokens

# Without a max-tokens limit a real model runs to its end-of-sequence token; the perfect model has
# none, so it stops here and leaves the rest to the client's stop logic.
DEFAULT_TRUTH_TOKENS = 1024


@dataclass(frozen=True)
class Answer:
    text: str
    source: Literal["script", "truth", "empty"]
    max_tokens: int | None
    entry: ScriptEntry | None = None


def choose_answer(state: SimState, request: InferenceRequest) -> Answer:
    entry = state.script.take(request.endpoint, request.prompt_text)
    if entry is not None:
        return Answer(entry.text, "script", request.max_tokens, entry)
    truth = _truth_answer(state, request)
    fault = draw_fault(state.fault_mix, state.rng)
    # A drawn fault rides on a one-off script entry, so the response path treats it like a scripted one.
    injected = None if fault is None else ScriptEntry(text=truth or "", fault=fault)
    if truth is not None:
        limit = DEFAULT_TRUTH_TOKENS if request.max_tokens is None else request.max_tokens
        return Answer(truth, "truth", limit, injected)
    return Answer("", "empty", request.max_tokens, injected)


def _truth_answer(state: SimState, request: InferenceRequest) -> str | None:
    hole = request.hole
    if hole is None or len(state.truth) == 0:
        return None
    where = state.truth.locate(hole.prefix, hole.suffix)
    if where is None:
        return None
    limit = DEFAULT_TRUTH_TOKENS if request.max_tokens is None else request.max_tokens
    # Tokens average about four characters; grow the slice until it holds enough tokens or ends.
    chars = limit * 6 + 64
    while True:
        text, at_end = state.truth.text_after(where, chars)
        if at_end or count_tokens(text) > limit:
            return text
        chars *= 4
