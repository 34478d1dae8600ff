"""Releases answer pieces on a wall-clock schedule: first token after the TTFT, then at a token rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from spark_lsp.sim.tokens import Piece


@dataclass(frozen=True)
class Pace:
    """``ttft_s`` is counted from ``start`` (a ``time.monotonic()`` value); rate ``None`` = unlimited."""

    start: float
    ttft_s: float
    tokens_per_second: float | None


@dataclass(frozen=True)
class Batch:
    text: str
    tokens: int
    total_tokens: int  # tokens released so far, this batch included


async def paced_batches(
    pieces: Sequence[Piece],
    pace: Pace,
    *,
    stalls: Mapping[int, float] | None = None,
    breaks: Sequence[int] = (),
    speedups: Sequence[float] | None = None,
) -> AsyncIterator[Batch]:
    """Yield the pieces that are due, merged into one batch when several came due together.

    Token ``k`` (1-based) is due at ``start + ttft + (k - 1) / rate`` plus every stall already passed;
    ``stalls[n]`` adds a pause once ``n`` tokens are out (``stalls[0]`` delays the first token).  A batch
    never runs past a token count in ``breaks`` so the caller can act at exactly that point.  Timing
    comes from the clock rather than from sleeping once per token, which would drift at 1500 tokens/s.
    ``speedups[i]`` multiplies the rate for piece ``i`` (predicted tokens that the model only verifies).
    """
    stalls = stalls or {}
    due_units = _due_units(pieces, speedups)
    marks = sorted({*breaks, *(mark for mark in stalls if mark > 0)})
    delay = stalls.get(0, 0.0)
    sent = 0
    index = 0
    while index < len(pieces):
        wait = _due(pace, delay, due_units[index]) - time.monotonic()
        # An unlimited rate still yields to the loop between pieces, so disconnects are noticed.
        await asyncio.sleep(max(0.0, wait))
        now = time.monotonic()
        texts: list[str] = []
        count = sent
        while index < len(pieces):
            piece = pieces[index]
            if texts and (pace.tokens_per_second is None or _due(pace, delay, due_units[index]) > now):
                break
            texts.append(piece.text)
            count += piece.tokens
            index += 1
            if any(sent < mark <= count for mark in marks):
                break
        delay += sum(pause for mark, pause in stalls.items() if sent < mark <= count)
        yield Batch("".join(texts), count - sent, count)
        sent = count


def _due_units(pieces: Sequence[Piece], speedups: Sequence[float] | None) -> list[float]:
    """For each piece, the token-times after the first token at which its last token is due.

    At full speed token ``k`` (1-based) is due ``k - 1`` token-times after the first; a sped-up token
    takes ``1 / speedup`` of a token-time.
    """
    units: list[float] = []
    elapsed = 0.0
    for index, piece in enumerate(pieces):
        cost = 1.0 / (speedups[index] if speedups is not None else 1.0)
        elapsed += piece.tokens * cost
        units.append(elapsed - cost)
    return units


def _due(pace: Pace, delay: float, units: float) -> float:
    """When a token ``units`` token-times after the first may be released."""
    offset = 0.0 if pace.tokens_per_second is None else units / pace.tokens_per_second
    return pace.start + pace.ttft_s + delay + offset
