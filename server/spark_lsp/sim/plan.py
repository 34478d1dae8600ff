"""Turns an answer text into the pieces to stream, honouring max tokens and stop sequences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spark_lsp.sim.tokens import Piece, split_pieces

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Plan:
    """What the simulated model will emit for one request."""

    pieces: tuple[Piece, ...]
    finish_reason: FinishReason

    @property
    def text(self) -> str:
        return "".join(piece.text for piece in self.pieces)

    @property
    def completion_tokens(self) -> int:
        return sum(piece.tokens for piece in self.pieces)


def plan_answer(answer: str, *, max_tokens: int | None, stop: Sequence[str]) -> Plan:
    """Cut ``answer`` at ``max_tokens`` (finish "length") or at the earliest stop sequence (finish "stop")."""
    pieces = split_pieces(answer)
    finish: FinishReason = "stop"
    if max_tokens is not None and sum(piece.tokens for piece in pieces) > max_tokens:
        kept: list[Piece] = []
        used = 0
        for piece in pieces:
            if used + piece.tokens > max_tokens:
                break
            kept.append(piece)
            used += piece.tokens
        pieces = kept
        finish = "length"
    text = "".join(piece.text for piece in pieces)
    cut = _earliest_stop(text, stop)
    if cut is not None:
        # The model saw the stop sequence before it ran out of tokens, so this is a normal stop.
        pieces = split_pieces(text[:cut])
        finish = "stop"
    return Plan(tuple(pieces), finish)


def _earliest_stop(text: str, stop: Sequence[str]) -> int | None:
    positions = [pos for seq in stop if seq and (pos := text.find(seq)) >= 0]
    return min(positions) if positions else None
