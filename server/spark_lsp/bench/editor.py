"""The editor's side of one document being retyped: version, cursor, and LSP (UTF-16) positions."""

from __future__ import annotations

from dataclasses import dataclass


def utf16_length(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit LSP positions count by default."""
    return len(text.encode("utf-16-le")) // 2


def position_after(text: str, line: int = 0, character: int = 0) -> tuple[int, int]:
    """The LSP position reached by writing `text` starting at (line, character)."""
    newlines = text.count("\n")
    if newlines == 0:
        return line, character + utf16_length(text)
    return line + newlines, utf16_length(text[text.rfind("\n") + 1 :])


@dataclass
class EditorDocument:
    """A document with the cursor where the user types; every insertion goes at the cursor.

    Only positions are tracked incrementally: recomputing them from the text on every key would make
    the client, not the server, the slow part on a 400 KB file.
    """

    uri: str
    language_id: str
    version: int
    line: int
    character: int

    @classmethod
    def at(cls, uri: str, language_id: str, text_before_cursor: str) -> EditorDocument:
        """A freshly opened document (version 1) with the cursor after `text_before_cursor`."""
        line, character = position_after(text_before_cursor)
        return cls(uri, language_id, 1, line, character)

    @property
    def cursor(self) -> tuple[int, int]:
        """The cursor as (line, UTF-16 character)."""
        return self.line, self.character

    def insert(self, text: str) -> tuple[int, int]:
        """Insert `text` at the cursor, bump the version, and return where it was inserted."""
        where = self.cursor
        self.line, self.character = position_after(text, self.line, self.character)
        self.version += 1
        return where
