"""Post-processing filters that trim or drop a suggestion before it is shown as ghost text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """What surrounds the cursor: the cursor line split at the cursor, nearby lines, mode and style.

    All text is without line terminators; suggestions are always "\\n"-separated, whatever `eol` is
    (converting to the document's line ending happens when the suggestion is sent).
    """

    line_prefix: str
    line_suffix: str
    lines_above: tuple[str, ...]
    lines_below: tuple[str, ...]
    multiline: bool
    indent_unit: str
    eol: str = "\n"


Filter = Callable[[str, CompletionContext], str]

# A tab in a document indented with spaces is one indent unit; spaces in a tab-indented document
# are grouped by this many, the width models use when they don't follow the document.
_DEFAULT_TAB_WIDTH = 4
_BLOCK_LOOP_MAX_LINES = 4
_BLOCK_LOOP_MIN_REPEATS = 3
_PATTERN_LOOP_MAX_PERIOD = 12
# A single repeated character needs a long run: 0xFFFFFFFFFFFFFFFF and 1000000 are legitimate.
_CHAR_LOOP_MIN_REPEATS = 20
_PATTERN_LOOP_MIN_REPEATS = 5
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
_QUOTES = frozenset("\"'`")
_BRACKETS_AND_QUOTES = frozenset("()[]{}\"'`")
_CLOSER_LINE = re.compile(r"[)\]}][)\]};,]*")
# Keywords and closers ("end", "else:", "pass", "break;", "}") recur inside legitimate code too often
# for one match to mean "this is a repeat".
_SHORT_WORD_LINE = re.compile(r"\w{1,5}[;:,]?")


def _lines(text: str) -> list[str]:
    """The lines of a "\\n"-separated text."""
    return text.split("\n")


def _indent(line: str) -> str:
    """The leading spaces and tabs of a line."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def _tab_width(ctx: CompletionContext) -> int:
    """How many columns one tab is worth when comparing indentation in this document."""
    unit = ctx.indent_unit
    return len(unit) if unit and set(unit) == {" "} else _DEFAULT_TAB_WIDTH


def _unit_width(ctx: CompletionContext) -> int:
    """The width of one indentation level in this document."""
    return _tab_width(ctx) if "\t" in ctx.indent_unit else max(1, len(ctx.indent_unit))


def _indent_width(line: str, tab_width: int) -> int:
    """The visual width of a line's indentation."""
    return sum(tab_width if ch == "\t" else 1 for ch in _indent(line))


def _render_indent(width: int, ctx: CompletionContext) -> str:
    """Indentation of the given width in the document's style."""
    if "\t" in ctx.indent_unit:
        tab = _tab_width(ctx)
        return "\t" * (width // tab) + " " * (width % tab)
    return " " * width


def _is_blank(text: str) -> bool:
    """Whether text is empty or whitespace only."""
    return not text.strip()


def _is_trivial_line(line: str) -> bool:
    """Whether a line is too generic (blank, punctuation, a lone keyword) to prove a repeat."""
    stripped = line.strip()
    if not any(ch.isalnum() for ch in stripped):
        return True
    return _SHORT_WORD_LINE.fullmatch(stripped) is not None


def _first_non_blank(lines: tuple[str, ...] | list[str]) -> str | None:
    """The first line with content, or None."""
    return next((line for line in lines if line.strip()), None)


def _cursor_line_is_empty(ctx: CompletionContext) -> bool:
    """Whether the cursor sits on a line with nothing but whitespace."""
    return _is_blank(ctx.line_prefix) and _is_blank(ctx.line_suffix)


def drop_blank(suggestion: str, ctx: CompletionContext) -> str:
    """Drop an empty or whitespace-only suggestion."""
    return "" if _is_blank(suggestion) else suggestion


def keep_single_line(suggestion: str, ctx: CompletionContext) -> str:
    """In single-line mode keep only the first line; drop it if that line is blank."""
    if ctx.multiline:
        return suggestion
    first = suggestion.split("\n", 1)[0]
    return "" if _is_blank(first) else first


def _is_apostrophe(line: str, index: int) -> bool:
    """Whether the quote at index sits inside a word (don't, it's) rather than delimiting a string."""
    before = line[index - 1] if index > 0 else ""
    after = line[index + 1] if index + 1 < len(line) else ""
    return line[index] == "'" and before.isalnum() and after.isalnum()


def _syntax_problems(text: str) -> int:
    """Unmatched or mismatched closers, unclosed openers and unterminated strings in text."""
    problems = 0
    expected: list[str] = []
    for line in _lines(text):
        quote = ""
        escaped = False
        for index, ch in enumerate(line):
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    quote = ""
            elif ch in _QUOTES and not _is_apostrophe(line, index):
                quote = ch
            elif ch in _OPENERS:
                expected.append(_OPENERS[ch])
            elif ch in _CLOSERS:
                if expected and expected[-1] == ch:
                    expected.pop()
                else:
                    problems += 1
        # Strings rarely span lines; resetting keeps one stray quote from hiding every bracket after it.
        problems += bool(quote)
    return problems + len(expected)


def _suffix_overlaps(suggestion: str, suffix: str) -> list[int]:
    """Lengths k, longest first, where the suggestion ends with the first k characters of the suffix."""
    targets = {suffix, suffix.lstrip(" \t")}
    limit = len(suggestion)
    return sorted(
        {k for t in targets for k in range(1, min(len(t), limit) + 1) if suggestion.endswith(t[:k])},
        reverse=True,
    )


def trim_suffix_overlap(suggestion: str, ctx: CompletionContext) -> str:
    """Cut the end of the suggestion that repeats the text after the cursor; drop it if nothing is new."""
    suffix = ctx.line_suffix
    if _is_blank(suffix):
        return suggestion
    if "\n" not in suggestion and suffix.lstrip().startswith(suggestion.strip()):
        return ""
    before = _syntax_problems(ctx.line_prefix + suggestion + suffix)
    best: tuple[int, int, str] | None = None
    for k in _suffix_overlaps(suggestion, suffix):
        overlap, kept = suggestion[-k:], suggestion[:-k]
        if _is_blank(overlap):
            continue
        after = _syntax_problems(ctx.line_prefix + kept + suffix)
        # A closer or quote at the end may belong to the suggestion's own opener (`print(|)` +
        # `foo(a)`): cut it only when that leaves the line better balanced. Plain text has no such
        # ambiguity: the model merged into the suffix.
        touches_brackets = any(ch in _BRACKETS_AND_QUOTES for ch in overlap)
        if after > before or (touches_brackets and after == before):
            continue
        candidate = (after, -k, kept)
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return suggestion
    kept = best[2]
    return "" if _is_blank(kept) else kept


def _same_code(a: str, b: str, tab: int) -> bool:
    """Whether two lines hold the same code at the same indentation width."""
    return a.strip() == b.strip() and _indent_width(a, tab) == _indent_width(b, tab)


_ANCHOR_LINES_BELOW = 3


def _duplicate_start(lines: list[str], below: list[str], tab: int) -> int | None:
    """The index of the first suggestion line (after the first) from which it re-writes the code below.

    A match on one of the first few non-trivial lines below counts when the lines before it also
    match back to the first line below: e.g. `):` then `x = f()` when the cursor is inside a call
    whose closing lines are already there. Trivial lines (`}`, `):`) never anchor a match alone.
    `below` has no blank lines, so blank suggestion lines are stepped over too: a blank line between
    `});` and the next `/**` must not hide that the suggestion re-writes both.
    """
    anchors = [j for j, line in enumerate(below[:_ANCHOR_LINES_BELOW]) if not _is_trivial_line(line)]
    rows = [index for index in range(1, len(lines)) if not _is_blank(lines[index])]
    for row, index in enumerate(rows):
        for j in anchors:
            if not _same_code(lines[index], below[j], tab):
                continue
            start, k = row, j
            while k > 0 and start > 0 and _same_code(lines[rows[start - 1]], below[k - 1], tab):
                start, k = start - 1, k - 1
            if k == 0:
                return rows[start]
    return None


def drop_suffix_duplicate_lines(suggestion: str, ctx: CompletionContext) -> str:
    """In multi-line mode, cut where the suggestion starts re-writing the code below the cursor.

    Indentation must match too: `return x` nested in a new `if` is not the function's `return x`.
    """
    if not ctx.multiline:
        return suggestion
    below = [line for line in ctx.lines_below if not _is_blank(line)]
    if not below or all(_is_trivial_line(line) for line in below[:_ANCHOR_LINES_BELOW]):
        return suggestion
    tab = _tab_width(ctx)
    lines = _lines(suggestion)
    # The first line only completes the cursor line, so it is a whole line only on an empty cursor line.
    if _cursor_line_is_empty(ctx) and not _is_trivial_line(below[0]):
        first = ctx.line_prefix + _first_line_without_doubled_indent(lines[0], ctx)
        if _same_code(first, below[0], tab):
            return ""
    start = _duplicate_start(lines, below, tab)
    return suggestion if start is None else "\n".join(lines[:start])


def runs_into_code_below(answer: str, shown: str, ctx: CompletionContext) -> bool:
    """Whether the model's answer went on into the code below right where the shown text ends.

    Then the model has said what follows the suggestion: the existing code. Asking it what comes
    after the accepted suggestion would only get that code back, which is dropped.
    """
    if not shown or not ctx.multiline:
        return False
    cut = drop_suffix_duplicate_lines(answer, ctx)
    if cut == answer:
        return False
    return sum(1 for line in _lines(shown) if line.strip()) >= sum(1 for line in _lines(cut) if line.strip())


def _block_loop_end(lines: list[str]) -> int | None:
    """The line index just after the first occurrence of a block repeated 3+ times in a row, if any."""
    rows = [(index, line.rstrip()) for index, line in enumerate(lines) if line.strip()]
    texts = [text for _, text in rows]
    ends: list[int] = []
    for size in range(1, _BLOCK_LOOP_MAX_LINES + 1):
        for start in range(len(texts) - size * _BLOCK_LOOP_MIN_REPEATS + 1):
            block = texts[start : start + size]
            if all(_is_trivial_line(line) for line in block):
                continue
            repeats = (
                texts[start + size * n : start + size * (n + 1)] for n in range(1, _BLOCK_LOOP_MIN_REPEATS)
            )
            if all(repeat == block for repeat in repeats):
                ends.append(rows[start + size - 1][0] + 1)
                break
    return min(ends, default=None)


def _is_primitive(unit: str) -> bool:
    """Whether a pattern is not itself a repetition of a shorter one ("ab" yes, "aa" no)."""
    return (unit + unit).find(unit, 1) == len(unit)


def _periodic_tail_start(line: str, period: int) -> int:
    """Where the longest tail of the line that repeats with the given period starts."""
    start = len(line) - period
    while start > 0 and line[start - 1] == line[start - 1 + period]:
        start -= 1
    return start


def _word_start_in(line: str, start: int, period: int) -> int:
    """The first word start within one period from `start`, so the cut doesn't split a token."""
    for index in range(start, min(start + period, len(line))):
        if not line[index].isspace() and (index == 0 or line[index - 1].isspace()):
            return index
    return start


def _pattern_loop_start(line: str) -> int | None:
    """Where a short pattern starts repeating until the end of the line (a runaway model), if it does."""
    found: list[int] = []
    for period in range(1, min(_PATTERN_LOOP_MAX_PERIOD, len(line) // 2) + 1):
        start = _periodic_tail_start(line, period)
        unit = line[start : start + period]
        # The last repeat may lack its trailing separator ("foo, foo,").
        repeats = (len(line) - start + 1) // period
        needed = _CHAR_LOOP_MIN_REPEATS if period == 1 else _PATTERN_LOOP_MIN_REPEATS
        # Punctuation runs are decoration (# ======, // ------), not loops.
        if repeats >= needed and _is_primitive(unit) and any(ch.isalnum() for ch in unit):
            found.append(_word_start_in(line, start, period))
    return min(found, default=None)


def cut_repetition(suggestion: str, ctx: CompletionContext) -> str:
    """Cut a repetition loop: a block of 1-4 lines repeated 3+ times, or a line that repeats a pattern."""
    lines = _lines(suggestion)
    end = _block_loop_end(lines)
    if end is not None:
        lines = lines[:end]
    for index, line in enumerate(lines):
        start = _pattern_loop_start(line)
        if start is not None:
            return "\n".join([*lines[:index], line[:start].rstrip()])
    return "\n".join(lines)


def _first_line_without_doubled_indent(first: str, ctx: CompletionContext) -> str:
    """The first line with indentation the cursor already has removed (the model wrote from column 0)."""
    prefix = ctx.line_prefix
    if prefix == "" or not _is_blank(prefix) or not _indent(first):
        return first
    if first.startswith(prefix):
        return first[len(prefix) :]
    tab = _tab_width(ctx)
    extra = _indent_width(first, tab) - _indent_width(prefix, tab)
    return _render_indent(max(0, extra), ctx) + first.lstrip(" \t")


def _is_closer_line(line: str) -> bool:
    """Whether a line only closes brackets (`}`, `)`, `]);`, `},`)."""
    return _CLOSER_LINE.fullmatch(line.strip()) is not None


def _closer_key(line: str, tab: int) -> tuple[int, str]:
    """A closer line's indentation width and brackets, ignoring a trailing `;` or `,`."""
    return _indent_width(line, tab), line.strip().rstrip(";,")


def _closer_is_below(line: str, ctx: CompletionContext) -> bool:
    """Whether the code below the cursor already starts with this closing line."""
    below = _first_non_blank(ctx.lines_below)
    tab = _tab_width(ctx)
    return below is not None and _closer_key(below, tab) == _closer_key(line, tab)


def _block_levels(lines: list[str], ctx: CompletionContext) -> tuple[int, int]:
    """The indentation width of the block being written and of its parent (where its closer goes)."""
    tab = _tab_width(ctx)
    if not _is_blank(ctx.line_prefix):
        cursor = _indent_width(ctx.line_prefix, tab)
        following = _first_non_blank(lines[1:])
        # The cursor line opens a block (`def f(x):`, `foo(`, `{`): the suggestion writes its body.
        if following is not None and _indent_width(following, tab) > cursor:
            return _indent_width(following, tab), cursor
    else:
        cursor = _indent_width(ctx.line_prefix + _first_line_without_doubled_indent(lines[0], ctx), tab)
    return cursor, cursor - _unit_width(ctx)


def limit_to_block_scope(suggestion: str, ctx: CompletionContext) -> str:
    """In multi-line mode, stop where a line leaves the block being written; keep a missing closer."""
    if not ctx.multiline:
        return suggestion
    lines = _lines(suggestion)
    base, parent = _block_levels(lines, ctx)
    tab = _tab_width(ctx)
    for index in range(1, len(lines)):
        line = lines[index]
        width = _indent_width(line, tab)
        if _is_blank(line) or width >= base:
            continue
        keep_closer = _is_closer_line(line) and width >= parent and not _closer_is_below(line, ctx)
        return "\n".join(lines[: index + 1 if keep_closer else index])
    return suggestion


def _reindent(line: str, ctx: CompletionContext) -> str:
    """A line whose indentation uses the document's characters (tabs or spaces)."""
    indent = _indent(line)
    wrong = " " if "\t" in ctx.indent_unit else "\t"
    if wrong not in indent:
        return line
    return _render_indent(_indent_width(line, _tab_width(ctx)), ctx) + line[len(indent) :]


def normalize_indentation(suggestion: str, ctx: CompletionContext) -> str:
    """Make indentation match the document and strip trailing whitespace on each line."""
    lines = _lines(suggestion)
    lines = [_first_line_without_doubled_indent(lines[0], ctx), *(_reindent(line, ctx) for line in lines[1:])]
    # Trailing space on the last line can matter when text follows the cursor (`a && |b`).
    keep_last = not _is_blank(ctx.line_suffix)
    last = len(lines) - 1
    return "\n".join(
        line if keep_last and index == last else line.rstrip() for index, line in enumerate(lines)
    )


def drop_trailing_blank_lines(suggestion: str, ctx: CompletionContext) -> str:
    """Remove blank lines at the end: ghost text ending in empty lines looks broken."""
    lines = _lines(suggestion)
    while len(lines) > 1 and _is_blank(lines[-1]):
        lines.pop()
    return "\n".join(lines)


FILTERS: tuple[Filter, ...] = (
    drop_blank,
    keep_single_line,
    trim_suffix_overlap,
    drop_suffix_duplicate_lines,
    cut_repetition,
    limit_to_block_scope,
    normalize_indentation,
    drop_trailing_blank_lines,
)


def apply_filters(suggestion: str, ctx: CompletionContext) -> str:
    """Run every filter in order; "" (also for whitespace-only results) means nothing to show.

    "\\r\\n" in the suggestion is read as "\\n"; the result always uses "\\n".
    """
    text = suggestion.replace("\r\n", "\n")
    for step in FILTERS:
        text = step(text, ctx)
        if _is_blank(text):
            return ""
    return text
