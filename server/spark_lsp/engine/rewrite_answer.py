"""Read a model's rewrite answer (a fenced block, plain code or a unified diff) into the new code."""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from spark_lsp.engine.answer_shapes import cut_at_special_tokens, normalize_newlines

AnswerShape = Literal["fenced", "diff", "plain"]

_OPENING_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n`]*$")
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Reasoning models may think aloud first; that is never code.
_THINKING = re.compile(r"<think>.*?</think>\s*", re.S)
_PREAMBLE = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|below is|the (?:fixed|rewritten|updated))"
    r"\b[^\n]{0,160}:\s*$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Fenced:
    """One fenced block: its info string, its content, and whether its closing fence was seen."""

    info: str
    body: str
    closed: bool


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """The new code and the shape it came in."""

    text: str
    shape: AnswerShape


def fenced_blocks(text: str) -> list[Fenced]:
    """Every fenced block; one left open runs to the end (a truncated answer)."""
    blocks: list[Fenced] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        match = _OPENING_FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, info = match.group(1), match.group(2)
        body: list[str] = []
        index += 1
        closed = False
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                closed = True
                index += 1
                break
            body.append(lines[index])
            index += 1
        blocks.append(Fenced(info.lower(), "\n".join(body) + ("\n" if body else ""), closed))
    return blocks


def looks_like_diff(text: str) -> bool:
    """A unified diff: hunk headers, or file headers followed by +/- lines."""
    lines = text.split("\n")
    if any(_HUNK_HEADER.match(line) for line in lines):
        return True
    return any(a.startswith("--- ") and b.startswith("+++ ") for a, b in itertools.pairwise(lines))


def _hunks(diff: str) -> list[tuple[int | None, list[str], list[str]]]:
    """(hinted old start line, old lines, new lines) for each hunk; lines without their ends."""
    hunks: list[tuple[int | None, list[str], list[str]]] = []
    current: tuple[int | None, list[str], list[str]] | None = None
    for line in diff.split("\n"):
        header = _HUNK_HEADER.match(line)
        if header:
            current = (int(header.group(1)) - 1, [], [])
            hunks.append(current)
            continue
        if line.startswith(("--- ", "+++ ", "diff ", "index ", "\\ ")):
            continue
        if current is None:
            if not line.startswith(("+", "-", " ")):
                continue
            current = (None, [], [])
            hunks.append(current)
        if line.startswith("+"):
            current[2].append(line[1:])
        elif line.startswith("-"):
            current[1].append(line[1:])
        else:
            # Context; some models drop the leading space of an empty context line.
            body = line[1:] if line.startswith(" ") else line
            current[1].append(body)
            current[2].append(body)
    # A trailing empty "context" line is usually just the end of the text.
    for _, old, new in hunks:
        while old and new and old[-1] == "" and new[-1] == "":
            old.pop()
            new.pop()
    return hunks


def _find(lines: list[str], block: list[str], hint: int) -> int | None:
    """Where `block` occurs in `lines` (ignoring trailing spaces), nearest to `hint`."""
    if not block:
        return max(0, min(hint, len(lines)))
    wanted = [line.rstrip() for line in block]
    stripped = [line.rstrip() for line in lines]
    found = [
        start
        for start in range(len(lines) - len(block) + 1)
        if stripped[start : start + len(block)] == wanted
    ]
    return min(found, key=lambda start: abs(start - hint)) if found else None


def apply_unified_diff(original: str, diff: str) -> str | None:
    """`original` with the diff's hunks applied, located by their content; None if a hunk does not fit."""
    lines = original.split("\n")
    trailing_newline = original.endswith("\n")
    if trailing_newline:
        lines.pop()
    hunks = _hunks(diff)
    if not hunks or all(old == new for _, old, new in hunks):
        return None
    shift = 0
    for hint, old, new in hunks:
        at = _find(lines, old, (hint or 0) + shift)
        if at is None:
            return None
        lines[at : at + len(old)] = new
        shift += len(new) - len(old)
    return "\n".join(lines) + ("\n" if trailing_newline else "")


def _strip_prose(text: str) -> str:
    """Plain code: drop a leading "Here is the fixed code:" line."""
    lines = text.strip("\n").split("\n")
    if lines and _PREAMBLE.match(lines[0].strip()):
        lines = lines[1:]
    return "\n".join(lines).strip("\n") + "\n"


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio()


def parse_rewrite(answer: str, original: str) -> ParsedAnswer | None:
    """The rewritten code in an answer: the fenced block most like `original` (the longest when
    `original` is empty), a diff applied to `original`, or the plain text. None when there is nothing."""
    text = _THINKING.sub("", normalize_newlines(cut_at_special_tokens(answer)))
    if not text.strip():
        return None
    blocks = [block for block in fenced_blocks(text) if block.body.strip()]
    if blocks:
        diffs = [b for b in blocks if b.info in ("diff", "patch", "udiff") or looks_like_diff(b.body)]
        if diffs and original:
            applied = apply_unified_diff(original, diffs[0].body)
            return None if applied is None else ParsedAnswer(applied, "diff")
        if original:
            best = max(blocks, key=lambda block: _similarity(block.body, original))
        else:
            best = max(blocks, key=lambda block: len(block.body))
        return ParsedAnswer(best.body, "fenced")
    if original and looks_like_diff(text):
        applied = apply_unified_diff(original, text)
        return None if applied is None else ParsedAnswer(applied, "diff")
    return ParsedAnswer(_strip_prose(text), "plain")
