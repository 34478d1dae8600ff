"""Converts LSP `character` offsets (UTF-8/16/32 code units) to and from Python string indexes."""

from __future__ import annotations

import enum
import re

__all__ = ["PositionEncoding", "char_index", "lsp_character"]


class PositionEncoding(enum.Enum):
    """The unit an LSP `Position.character` counts, as negotiated in `general.positionEncodings`."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


# Only astral characters take two UTF-16 code units; everything else is one unit per `str` index.
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")

# UTF-8 continuation bytes (0b10xxxxxx): deleting them leaves one lead byte per encoded character.
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


def char_index(line: str, character: int, encoding: PositionEncoding) -> int:
    """Return the `str` index in `line` (no terminator) for an LSP `character` offset.

    Negative offsets give 0 and offsets past the end clamp to `len(line)`. An offset that lands
    inside a character (between the halves of a UTF-16 surrogate pair, or inside a multi-byte UTF-8
    sequence) rounds down to the start of that character, so the result is always a boundary.
    """
    if character <= 0:
        return 0
    if encoding is PositionEncoding.UTF32 or line.isascii():
        return min(character, len(line))
    if encoding is PositionEncoding.UTF16:
        return _utf16_char_index(line, character)
    return _utf8_char_index(line, character)


def lsp_character(line: str, index: int, encoding: PositionEncoding) -> int:
    """Return the LSP `character` offset, in `encoding` units, of `str` index `index` in `line`.

    The index is clamped to `[0, len(line)]` first.
    """
    index = max(0, min(index, len(line)))
    if encoding is PositionEncoding.UTF32 or line.isascii():
        return index
    if encoding is PositionEncoding.UTF16:
        # Bounding the scan with `endpos` avoids slicing the line.
        return index + sum(1 for _ in _NON_BMP.finditer(line, 0, index))
    prefix = line[:index]
    if prefix.isascii():
        return index
    # `surrogatepass` keeps lone surrogates (possible after JSON decoding) from raising.
    return len(prefix.encode("utf-8", "surrogatepass"))


def _utf16_char_index(line: str, character: int) -> int:
    """Map a UTF-16 offset to a `str` index by skipping over the astral characters before it."""
    # Every index is at most `character`, so astral characters at or beyond it cannot matter.
    astral_before = 0
    for match in _NON_BMP.finditer(line, 0, min(character, len(line))):
        start_units = match.start() + astral_before
        if start_units >= character:
            break
        if start_units + 1 == character:
            return match.start()  # Between the two halves of a surrogate pair: round down.
        astral_before += 1
    return min(character - astral_before, len(line))


def _utf8_char_index(line: str, character: int) -> int:
    """Map a UTF-8 byte offset to a `str` index by counting lead bytes before it."""
    # Each character is at least one byte, so the first `character` characters cover the offset.
    prefix = line[:character]
    if prefix.isascii():
        return len(prefix)
    data = prefix.encode("utf-8", "surrogatepass")
    if len(data) <= character:
        return len(prefix)
    leads = len(data[:character].translate(None, _UTF8_CONTINUATION))
    if data[character] & 0xC0 == 0x80:
        leads -= 1  # The cut falls inside a character whose lead byte was counted: round down.
    return leads
