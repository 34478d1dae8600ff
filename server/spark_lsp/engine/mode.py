"""Single-line or multi-line: decided from what surrounds the cursor."""

from __future__ import annotations

_BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->", " do", " then", "\\")
_COMMENT_STARTS = ("#", "//", "--", ";", "/*", "*", '"""', "'''")
_CLOSERS = set(")]}\"'`;,: \t")


def opens_block(line: str) -> bool:
    """Whether a line (without terminator) ends by opening a block or bracket."""
    stripped = line.rstrip()
    return bool(stripped) and stripped.endswith(_BLOCK_OPENERS)


def is_comment(line: str) -> bool:
    """Whether a line is a comment line (a description of the code to come)."""
    return line.lstrip().startswith(_COMMENT_STARTS)


def wants_multiline(line_prefix: str, line_suffix: str, lines_above: tuple[str, ...]) -> bool:
    """Multi-line only where a block body is about to be written; mid-line text means single-line.

    A wrong multi-line suggestion costs the user more than a short one, so the rule is conservative:
    the cursor must be at the end of its line (only closers after it) and either the line opens a
    block, or the line is blank right below a block opener or a comment.
    """
    if any(ch not in _CLOSERS for ch in line_suffix):
        return False
    if line_prefix.strip():
        return opens_block(line_prefix)
    previous = next((line for line in reversed(lines_above) if line.strip()), "")
    return opens_block(previous) or is_comment(previous)
