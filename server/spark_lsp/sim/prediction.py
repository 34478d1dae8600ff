"""Predicted outputs: which answer tokens a prediction lets the simulated model verify instead of generate."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from spark_lsp.sim.tokens import Piece, split_pieces

# Speculative decoding checks a run of predicted tokens in one forward pass; real providers report
# roughly 2-5x faster generation on well-predicted edits. Accepted tokens stream this much faster.
PREDICTION_SPEEDUP = 4.0


@dataclass(frozen=True)
class Acceptance:
    """Per answer piece, whether the prediction covered it; and the usage counts providers report."""

    accepted: tuple[bool, ...]
    accepted_tokens: int
    rejected_tokens: int

    def speedups(self) -> tuple[float, ...]:
        """The rate multiplier of each answer piece."""
        return tuple(PREDICTION_SPEEDUP if hit else 1.0 for hit in self.accepted)


def match_prediction(pieces: Sequence[Piece], prediction: str) -> Acceptance:
    """Align the answer's tokens with the prediction's; matching runs are accepted, like a draft model's.

    `rejected_tokens` counts prediction tokens that did not end up in the answer: OpenAI bills them
    as completion tokens, which is why a wrong prediction costs money even though it saves no time.
    """
    predicted = split_pieces(prediction)
    matcher = difflib.SequenceMatcher(
        None, [piece.text for piece in pieces], [piece.text for piece in predicted], autojunk=False
    )
    accepted = [False] * len(pieces)
    used_prediction_tokens = 0
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            accepted[block.a + offset] = True
            used_prediction_tokens += predicted[block.b + offset].tokens
    accepted_tokens = sum(piece.tokens for piece, hit in zip(pieces, accepted, strict=True) if hit)
    total_predicted = sum(piece.tokens for piece in predicted)
    return Acceptance(tuple(accepted), accepted_tokens, total_predicted - used_prediction_tokens)
