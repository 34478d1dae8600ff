"""Single-line or multi-line: decided from what surrounds the cursor."""

from __future__ import annotations

_BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->", " do", " then", "\\")
_CLOSERS = set(")]}\"'`;,: \t")


def opens_block(line: str) -> bool:
    """Whether a line (without terminator) ends by opening a block or bracket."""
    stripped = line.rstrip()
    return bool(stripped) and stripped.endswith(_BLOCK_OPENERS)


def wants_multiline(line_prefix: str, line_suffix: str) -> bool:
    """Multi-line where the next lines are about to be written; mid-line text means single-line.

    The cursor must be at the end of its line (only closers after it), and the line must either open
    a block or be empty: an empty line is where the next statements go, and answering it one line per
    round-trip would make the user wait once per line. The block-scope, suffix-duplicate and
    repetition filters keep such a suggestion inside the block being written.
    """
    if any(ch not in _CLOSERS for ch in line_suffix):
        return False
    if line_prefix.strip():
        return opens_block(line_prefix)
    return True
