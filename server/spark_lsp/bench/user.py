"""The simulated user: what the next keystroke inserts, and whether a shown suggestion deserves Tab."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from spark_lsp.bench.intervals import auto_indent_mask

Verdict = Literal["correct", "wrong", "stale"]


def judge(
    suggestion: str, remaining: str, request_version: int, current_version: int, position_ok: bool = True
) -> Verdict:
    """Classify a suggestion when it is shown.

    Stale: made for an older document version than the one on screen, or anchored somewhere other
    than the cursor. Correct: the true text continues with it (so Tab saves keystrokes). Anything
    else is wrong, including text that runs past the region and duplicates what follows it.
    """
    if request_version != current_version or not position_ok:
        return "stale"
    return "correct" if remaining.startswith(suggestion) else "wrong"


@dataclass
class RegionProgress:
    """How far the user is through one region, and how each of its characters got into the document.

    Every character is exactly one of: typed (a key press), accepted (part of a suggestion taken with
    Tab) or auto-indent (leading whitespace the editor inserts after a newline). Indentation inside an
    accepted suggestion counts as auto-indent too, so typed + accepted always adds up to `effort`.
    """

    text: str
    done: int = 0
    typed: int = 0
    accepted: int = 0
    auto_indent: int = 0
    tabs: int = 0
    mask: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mask = auto_indent_mask(self.text)

    @property
    def effort(self) -> int:
        """Characters a user would type without suggestions (the region minus auto-indentation)."""
        return self.mask.count(False)

    @property
    def remaining(self) -> str:
        """The true text still to be entered."""
        return self.text[self.done :]

    @property
    def finished(self) -> bool:
        """Whether the whole region is in the document."""
        return self.done >= len(self.text)

    def next_keystroke(self) -> str:
        """The text one key press inserts: one character, plus the indentation the editor adds after it."""
        stop = self.done + 1
        while stop < len(self.text) and self.mask[stop]:
            stop += 1
        # Only the first character can be a real key: the rest is the editor's auto-indentation (the
        # first is indentation too when the cursor sits at a line start after an accepted suggestion).
        keys = 0 if self.mask[self.done] else 1
        self.typed += keys
        self.auto_indent += stop - self.done - keys
        inserted = self.text[self.done : stop]
        self.done = stop
        return inserted

    def accept(self, suggestion: str) -> None:
        """Take a correct suggestion with Tab."""
        if not self.remaining.startswith(suggestion):
            raise ValueError("only a suggestion the true text continues with can be accepted")
        stop = self.done + len(suggestion)
        indent = sum(self.mask[self.done : stop])
        self.accepted += stop - self.done - indent
        self.auto_indent += indent
        self.tabs += 1
        self.done = stop
