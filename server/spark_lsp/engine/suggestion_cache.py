"""Typing-through cache: when the user types what the visible suggestion says, answer from memory."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

TAIL_CHARS = 256


@dataclass(frozen=True, slots=True)
class CachedSuggestion:
    """A suggestion and the exact place it was made for."""

    line: int
    index: int
    prefix_tail: str
    line_suffix: str
    text: str
    multiline: bool


def _typed_length(entry: CachedSuggestion, line: int, index: int) -> int | None:
    """How many characters of the suggestion lie between its anchor and (line, index), if any."""
    if line == entry.line:
        typed = index - entry.index
        return typed if 0 <= typed <= len(entry.text) and "\n" not in entry.text[:typed] else None
    newlines = line - entry.line
    if newlines < 0:
        return None
    position = -1
    for _ in range(newlines):
        position = entry.text.find("\n", position + 1)
        if position < 0:
            return None
    typed = position + 1 + index
    if typed > len(entry.text) or "\n" in entry.text[position + 1 : typed]:
        return None
    return typed


class SuggestionCache:
    """Recent suggestions per document, looked up by position and verified against the text.

    A hit needs the text before the cursor to end with the text before the old cursor followed by
    the part of the suggestion the user has typed since, and the rest of the line to be unchanged.
    """

    def __init__(self, per_document: int = 8) -> None:
        self._entries: dict[str, deque[CachedSuggestion]] = {}
        self._per_document = per_document

    def put(self, uri: str, entry: CachedSuggestion) -> None:
        """Remember a suggestion, or with empty text that there is nothing to suggest at a place."""
        entries = self._entries.get(uri)
        if entries is None:
            entries = self._entries[uri] = deque(maxlen=self._per_document)
        entries.append(entry)

    def lookup(
        self, uri: str, line: int, index: int, prefix_tail: str, line_suffix: str
    ) -> tuple[CachedSuggestion, str] | None:
        """The entry and the rest of its suggestion still to type at (line, index), if one matches."""
        for entry in reversed(self._entries.get(uri, ())):
            if entry.line_suffix != line_suffix:
                continue
            typed = _typed_length(entry, line, index)
            # An empty entry (the model had nothing to add here) matches only its own place.
            if typed is None or (typed == len(entry.text) and entry.text):
                continue
            expected = entry.prefix_tail + entry.text[:typed]
            if prefix_tail.endswith(expected[-TAIL_CHARS:]):
                return entry, entry.text[typed:]
        return None

    def forget(self, uri: str) -> None:
        """Drop a closed document's entries."""
        self._entries.pop(uri, None)
