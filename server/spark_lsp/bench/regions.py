"""Picks the regions the simulated user retypes: real function bodies first, plain line windows otherwise."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

MIN_LINES = 5
MAX_LINES = 40

_PY_DEF = re.compile(r"\s*(?:async\s+)?def\s+\w+")
_DOCSTRING_OPEN = re.compile(r"""\s*[rRbBuU]{0,2}("{3}|'{3})""")
_BRACE_HEADER = re.compile(
    r"""
    (?:\bfunction\b[^;]*\{\s*$)                       # JS function declarations and expressions
    |(?:^\s*func\b.*\{\s*$)                           # Go functions and methods
    |(?:=>\s*\{\s*$)                                  # arrow functions
    |(?:^\s*(?:(?:async|static|get|set|public|private|protected)\s+)*
        (?!(?:if|for|while|switch|catch|else|return|do)\b)[A-Za-z_$][\w$]*\s*\([^;]*\)\s*\{\s*$)  # methods
    """,
    re.VERBOSE,
)
_STRING_LITERAL = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`(?:\\.|[^`\\])*`')


@dataclass(frozen=True)
class Region:
    """Text the user retypes: from the first non-blank character of a line to the end of a later line.

    The first line's indentation and the newline after the last line stay in the document, as if the
    user had just pressed Enter after the function header and the editor had indented the new line.
    """

    start: int
    end: int
    first_line: int
    line_count: int
    kind: Literal["body", "window"]

    def text(self, source: str) -> str:
        """The retyped text."""
        return source[self.start : self.end]


def indentation(line: str) -> int:
    """Width of the leading whitespace (a tab counts as one, which is enough to compare lines)."""
    return len(line) - len(line.lstrip(" \t"))


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    return starts


def _python_header_end(lines: Sequence[str], first: int) -> int | None:
    """The line holding the colon that ends a `def` header, or None for one-liners and oddities."""
    depth = 0
    for j in range(first, min(len(lines), first + 20)):
        code = _STRING_LITERAL.sub('""', lines[j]).split("#", 1)[0]
        for at, char in enumerate(code):
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == ":" and depth == 0:
                # Code after the colon means a one-line definition: there is no body to retype.
                return j if not code[at + 1 :].strip() else None
    return None


def python_bodies(lines: Sequence[str]) -> Iterator[tuple[int, int]]:
    """Line ranges [start, end) of `def` bodies, found by indentation."""
    for i, line in enumerate(lines):
        if not _PY_DEF.match(line):
            continue
        header_end = _python_header_end(lines, i)
        if header_end is None:
            continue
        header_indent = indentation(line)
        start = end = header_end + 1
        for k in range(start, len(lines)):
            if lines[k].strip():
                if indentation(lines[k]) <= header_indent:
                    break
                end = k + 1
        if end > start:
            yield start, end


def _brace_delta(line: str) -> int:
    code = _STRING_LITERAL.sub('""', line).split("//", 1)[0]
    return code.count("{") - code.count("}")


def brace_bodies(lines: Sequence[str]) -> Iterator[tuple[int, int]]:
    """Line ranges [start, end) of function bodies in brace languages (JS, Go, ...), closing line excluded."""
    for i, line in enumerate(lines):
        if not _BRACE_HEADER.search(_STRING_LITERAL.sub('""', line)):
            continue
        depth = _brace_delta(line)
        if depth <= 0:
            continue
        for k in range(i + 1, len(lines)):
            depth += _brace_delta(lines[k])
            if depth <= 0:
                if k > i + 1:
                    yield i + 1, k
                break


def _skip_docstring(lines: Sequence[str], start: int, end: int) -> int:
    """The first line after a leading docstring (docstrings are prose: we retype code)."""
    opening = _DOCSTRING_OPEN.match(lines[start])
    if opening is None:
        return start
    quote = opening.group(1)
    if quote in lines[start][opening.end() :]:
        return start + 1
    for k in range(start + 1, end):
        if quote in lines[k]:
            return k + 1
    return end


def _trim(lines: Sequence[str], start: int, end: int, language_id: str) -> tuple[int, int]:
    """Drop leading blank lines and docstrings and trailing blank lines."""
    while start < end and not lines[start].strip():
        start += 1
    if language_id == "python" and start < end:
        start = _skip_docstring(lines, start, end)
        while start < end and not lines[start].strip():
            start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def fit(lines: Sequence[str], start: int, end: int, max_lines: int, max_chars: int) -> int:
    """A new end so [start, end) has at most `max_lines` lines and `max_chars` characters.

    It prefers to cut before a statement at the body's own indentation, so the retyped text ends with
    a complete statement rather than in the middle of a block.
    """
    body_indent = indentation(lines[start])
    best_boundary = best_any = start + 1
    chars = 0
    for k in range(start, min(end, start + max_lines)):
        chars += len(lines[k]) + 1
        if chars > max_chars and k > start:
            break
        if not lines[k].strip():
            continue
        best_any = k + 1
        following = next((lines[n] for n in range(k + 1, end) if lines[n].strip()), None)
        if following is None or indentation(following) <= body_indent:
            best_boundary = k + 1
    return best_boundary if best_boundary - start >= MIN_LINES else best_any


def function_bodies(text: str, language_id: str) -> list[tuple[int, int]]:
    """Trimmed line ranges of the function bodies the heuristics find."""
    lines = _lines(text)
    finder = python_bodies if language_id == "python" else brace_bodies
    found = []
    for start, end in finder(lines):
        start, end = _trim(lines, start, end, language_id)
        if end > start:
            found.append((start, end))
    return found


def _region(
    text: str, starts: Sequence[int], lines: Sequence[str], first: int, stop: int, kind: str
) -> Region:
    begin = starts[first] + indentation(lines[first])
    finish = starts[stop - 1] + len(lines[stop - 1])
    return Region(begin, finish, first, stop - first, "body" if kind == "body" else "window")


def _overlaps(a: tuple[int, int], taken: Sequence[tuple[int, int]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for b in taken)


def pick_regions(
    text: str,
    language_id: str,
    rng: random.Random,
    count: int,
    max_lines: int = MAX_LINES,
    max_chars: int = 100_000,
    min_lines: int = MIN_LINES,
    windows: bool = True,
) -> list[Region]:
    """Up to `count` non-overlapping regions, function bodies first, in document order.

    Deterministic for a given `rng` state. Bodies shorter than `min_lines` are skipped; longer ones
    are cut to `max_lines` lines and `max_chars` characters. When a file has too few bodies, windows
    of `min_lines`..`max_lines` lines starting at a non-blank line fill the gap (unless `windows` is off).
    """
    lines = _lines(text)
    starts = _line_starts(text)
    candidates: list[tuple[int, int]] = []
    for start, end in function_bodies(text, language_id):
        if end - start < min_lines:
            continue
        stop = fit(lines, start, end, max_lines, max_chars)
        if stop - start >= min_lines or stop == end:
            candidates.append((start, stop))
    rng.shuffle(candidates)
    taken: list[tuple[int, int]] = []
    kinds: dict[tuple[int, int], str] = {}
    for candidate in candidates:
        if len(taken) >= count:
            break
        if not _overlaps(candidate, taken):
            taken.append(candidate)
            kinds[candidate] = "body"
    non_blank = [i for i, line in enumerate(lines) if line.strip()]
    attempts = 0
    while windows and len(taken) < count and non_blank and attempts < 200:
        attempts += 1
        first = rng.choice(non_blank)
        want = rng.randint(min_lines, max(min_lines, max_lines))
        stop = fit(lines, first, min(len(lines), first + want), max_lines, max_chars)
        while stop > first + 1 and not lines[stop - 1].strip():
            stop -= 1
        window = (first, stop)
        if stop - first >= min(min_lines, len(non_blank)) and not _overlaps(window, taken):
            taken.append(window)
            kinds[window] = "window"
    return sorted(
        (_region(text, starts, lines, first, stop, kinds[(first, stop)]) for first, stop in taken),
        key=lambda region: region.start,
    )
