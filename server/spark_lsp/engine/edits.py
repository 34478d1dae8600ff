"""Minimal line edits between a region's old and new text, applying them, and their document ranges."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from spark_lsp.engine.documents import Position, split_lines


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace lines [start, end) of a document with `text` (whole lines with their line ends)."""

    start: int
    end: int
    text: str


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def region_lines(text: str, eol: str, terminated: bool) -> list[str]:
    """`text` ("\\n" line ends) as document lines in `eol`; the last line ends with `eol` iff `terminated`."""
    if not text:
        return []
    body = text[:-1] if text.endswith("\n") else text
    lines = [part + eol for part in body.split("\n")]
    if not terminated:
        lines[-1] = lines[-1][: -len(eol)]
    return lines


def line_edits(old: Sequence[str], new: Sequence[str], offset: int = 0) -> list[LineEdit]:
    """The changed line ranges only (difflib), as edits of a document where `old` starts at `offset`."""
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    return [
        LineEdit(offset + i1, offset + i2, "".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def apply_line_edits(lines: Sequence[str], edits: Sequence[LineEdit]) -> list[str]:
    """The document lines after non-overlapping `edits` (in any order); raises ValueError if they overlap."""
    result = list(lines)
    previous_start = len(lines) + 1
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if not 0 <= edit.start <= edit.end <= len(lines) or edit.end > previous_start:
            raise ValueError(f"edit of lines {edit.start}..{edit.end} overlaps another or is out of range")
        result[edit.start : edit.end] = [edit.text]
        previous_start = edit.start
    # Re-split the joined text: LSP line ends only, the last line without one (as in a snapshot).
    return split_lines("".join(result))


def edit_range(lines: Sequence[str], edit: LineEdit) -> tuple[Position, Position]:
    """The (line, str index) start and end of a whole-line edit in a document of `lines`.

    Lines are addressed by their starts; past the last line (which has no terminator) the range ends
    at the end of that line instead.
    """
    last = len(lines) - 1

    def point(line: int) -> Position:
        if line <= last:
            return line, 0
        return last, len(_content(lines[last]))

    return point(edit.start), point(edit.end)


def rebase_indent(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Give `new` lines the old region's indentation when the model returned them dedented."""

    def common(lines: Sequence[str]) -> str | None:
        indents = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()]
        return min(indents, key=len) if indents else None

    old_indent, new_indent = common(old), common(new)
    if old_indent is None or new_indent is None or len(new_indent) >= len(old_indent):
        return list(new)
    missing = old_indent[: len(old_indent) - len(new_indent)]
    return [missing + line if line.strip() else line for line in new]


def keep_blank_edges(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Keep the region's leading and trailing blank lines when the model dropped them."""

    def blank_run(lines: Sequence[str]) -> int:
        count = 0
        for line in lines:
            if line.strip():
                break
            count += 1
        return count

    if not new:
        return []
    lead = blank_run(old) - blank_run(new)
    trail = blank_run(old[::-1]) - blank_run(new[::-1])
    result = list(new)
    if lead > 0:
        result = list(old[:lead]) + result
    if trail > 0:
        result = result + list(old[len(old) - trail :])
    return result
