"""What surrounds the cursor, cut from a snapshot's lines without joining the whole document."""

from __future__ import annotations

from collections.abc import Sequence

from spark_lsp.engine.filters import CompletionContext
from spark_lsp.engine.mode import wants_multiline

NEARBY_LINES = 20


def strip_eol(line: str) -> str:
    """A line without its terminator."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def cursor_context(
    lines: Sequence[str], line: int, index: int, indent_unit: str, eol: str, multiline: bool | None = None
) -> CompletionContext:
    """The cursor's surroundings; multi-line mode is decided from them unless given."""
    current = strip_eol(lines[line])
    line_prefix, line_suffix = current[:index], current[index:]
    above = tuple(strip_eol(text) for text in lines[max(0, line - NEARBY_LINES) : line])
    below = tuple(strip_eol(text) for text in lines[line + 1 : line + 1 + NEARBY_LINES])
    if multiline is None:
        multiline = wants_multiline(line_prefix, line_suffix)
    return CompletionContext(
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        lines_above=above,
        lines_below=below,
        multiline=multiline,
        indent_unit=indent_unit,
        eol=eol,
    )


def prefix_tail(lines: Sequence[str], line: int, index: int, chars: int) -> str:
    """The last `chars` characters before the cursor, joining only the lines needed."""
    parts = [lines[line][:index]]
    size = len(parts[0])
    row = line
    while size < chars and row > 0:
        row -= 1
        parts.append(lines[row])
        size += len(lines[row])
    return "".join(reversed(parts))[-chars:]
