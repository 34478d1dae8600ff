"""What the user typed at a cursor between two snapshots, found without joining either document."""

from __future__ import annotations

from collections.abc import Sequence


def typed_since(old: Sequence[str], line: int, index: int, new: Sequence[str]) -> str | None:
    """The text inserted at (line, index) of `old` that turns it into `new`, or None if `new` differs
    from `old` in any other way. Lines keep their terminators; "" means nothing changed.

    Untouched lines are the same string objects in both snapshots (the document store reuses them),
    so the slice comparisons are cheap even for large files.
    """
    added = len(new) - len(old)
    if added < 0 or line >= len(old):
        return None
    if new[:line] != old[:line] or new[line + added + 1 :] != old[line + 1 :]:
        return None
    before, after = old[line][:index], old[line][index:]
    middle = "".join(new[line : line + added + 1])
    if len(middle) < len(before) + len(after) or not middle.startswith(before) or not middle.endswith(after):
        return None
    return middle[len(before) : len(middle) - len(after)]


def consistent(typed: str, partial: str) -> bool:
    """Whether typed text and a partly streamed suggestion agree so far (either may be longer)."""
    typed = typed.replace("\r\n", "\n")
    return partial.startswith(typed) or typed.startswith(partial)
