"""Find the code a quick-fix, rewrite or hover is about: the enclosing function or class, or nearby lines."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

ScopeKind = Literal["function", "class", "block", "statement", "lines", "file"]

# Languages whose blocks are delimited by braces; others fall back to indentation.
BRACE_LANGUAGES = frozenset(
    {
        "c",
        "cpp",
        "csharp",
        "css",
        "dart",
        "go",
        "java",
        "javascript",
        "javascriptreact",
        "json",
        "jsonc",
        "kotlin",
        "less",
        "php",
        "rust",
        "scala",
        "scss",
        "swift",
        "typescript",
        "typescriptreact",
    }
)
_DEFINITION = re.compile(
    r"\b(function|func|fn|def|class|struct|impl|interface|enum|trait|module|namespace|object|record)\b"
    r"|=>\s*\{?\s*$"  # arrow functions
    r"|\)\s*(?::\s*[^{;]+|->\s*[^{;]+|throws\s+[\w.,\s]+)?\s*\{\s*$"  # `name(args) {` methods
)
_CONTROL = re.compile(r"^\s*(?:\}\s*)?(if|else|for|while|do|switch|try|catch|finally|with|match|case)\b")
_INDENT_DEFINITION = re.compile(r"^\s*(async\s+def|def|class|function|module|fn)\b")
# How far a "lines" window reaches around the target when there is no better scope.
_WINDOW_LINES = 12


@dataclass(frozen=True, slots=True)
class Scope:
    """Lines [start, end) of a document, and what they are."""

    start: int
    end: int
    kind: ScopeKind
    name: str = ""

    def contains(self, first: int, last: int) -> bool:
        """Whether lines first..last (inclusive) lie inside."""
        return self.start <= first and last < self.end


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _blank(line: str) -> bool:
    return not line.strip()


# Python ----------------------------------------------------------------------------------------


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return int(min([node.lineno, *(d.lineno for d in decorators)])) - 1


def python_scopes(text: str, first: int, last: int) -> list[Scope] | None:
    """Enclosing defs and classes of lines first..last, innermost first; the top-level statements
    they touch when there is none. None when the text does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    found: list[Scope] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        start, end = _first_line(node), (node.end_lineno or node.lineno)
        if start <= first and last < end:
            kind: ScopeKind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.append(Scope(start, end, kind, node.name))
    if found:
        found.sort(key=lambda scope: scope.end - scope.start)
        return found
    touched = [
        node for node in tree.body if _first_line(node) <= last and first < (node.end_lineno or node.lineno)
    ]
    if touched:
        start = min(_first_line(node) for node in touched)
        end = max(node.end_lineno or node.lineno for node in touched)
        return [Scope(start, end, "statement")]
    return []


def python_statements(text: str, first: int, last: int) -> Scope | None:
    """The whole statements (at any depth) that lines first..last touch, or None."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    best: Scope | None = None
    covering: Scope | None = None
    bodies = (
        body
        for node in ast.walk(tree)
        for field in ("body", "orelse", "finalbody")
        if isinstance(body := getattr(node, field, None), list)
    )
    for body in bodies:
        touched = [
            stmt
            for stmt in body
            if isinstance(stmt, ast.stmt)
            and _first_line(stmt) <= last
            and first < (stmt.end_lineno or stmt.lineno)
        ]
        if touched:
            start = min(_first_line(stmt) for stmt in touched)
            end = max(stmt.end_lineno or stmt.lineno for stmt in touched)
            candidate = Scope(start, end, "statement")
            # The deepest body that touches the range gives the tightest whole statements, but it must
            # not cut off selected lines: a selection from a `def` line to the end of its body is the
            # whole function, not just its body (else a rewrite repeating the header nests it twice).
            if candidate.contains(first, last) and (
                covering is None or end - start <= covering.end - covering.start
            ):
                covering = candidate
            if best is None or end - start <= best.end - best.start:
                best = candidate
    return covering or best


# Braces ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`|[{}]", re.S
)


def brace_blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(open line, close line) of every matched `{ }` pair, skipping strings and comments."""
    text = "".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line))
    pairs: list[tuple[int, int]] = []
    stack: list[int] = []
    line_no = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token not in "{}":
            continue
        while line_no + 1 < len(starts) and starts[line_no + 1] <= match.start():
            line_no += 1
        if token == "{":
            stack.append(line_no)
        elif stack:
            pairs.append((stack.pop(), line_no))
    return pairs


def _header_start(lines: Sequence[str], open_line: int) -> int:
    """Walk up over a multi-line signature, decorators and annotations to where a block's header begins."""
    start = open_line
    while start > 0:
        above = lines[start - 1].strip()
        if above.endswith(("(", ",")) or above.startswith("@"):
            start -= 1
            continue
        break
    return start


def brace_scopes(lines: Sequence[str], first: int, last: int) -> list[Scope]:
    """Enclosing brace blocks, innermost first; definitions are "function", others "block"."""
    found: list[Scope] = []
    for open_line, close_line in brace_blocks(lines):
        start = _header_start(lines, open_line)
        if start <= first and last <= close_line and close_line > open_line:
            header = "".join(lines[start : open_line + 1])
            is_definition = bool(_DEFINITION.search(header)) and not _CONTROL.match(lines[open_line])
            kind: ScopeKind = "function" if is_definition else "block"
            found.append(Scope(start, close_line + 1, kind))
    found.sort(key=lambda scope: scope.end - scope.start)
    return found


# Indentation -----------------------------------------------------------------------------------


def indent_scopes(lines: Sequence[str], first: int, last: int) -> list[Scope]:
    """Enclosing indented blocks (a header line and the deeper lines below it), innermost first."""
    target = next((n for n in range(first, min(last + 1, len(lines))) if not _blank(lines[n])), None)
    if target is None:
        return []
    found: list[Scope] = []
    width = _indent_width(lines[target])
    line = target
    while width > 0 and line > 0:
        header = next(
            (n for n in range(line - 1, -1, -1) if not _blank(lines[n]) and _indent_width(lines[n]) < width),
            None,
        )
        if header is None:
            break
        header_width = _indent_width(lines[header])
        end = header + 1
        last_body = header
        while end < len(lines) and (_blank(lines[end]) or _indent_width(lines[end]) > header_width):
            if not _blank(lines[end]):
                last_body = end
            end += 1
        start = header
        while start > 0 and lines[start - 1].lstrip().startswith("@"):
            start -= 1
        if last_body >= last:
            kind: ScopeKind = "function" if _INDENT_DEFINITION.match(lines[header]) else "block"
            found.append(Scope(start, last_body + 1, kind))
        width, line = header_width, header
    return found


# Choosing --------------------------------------------------------------------------------------


def line_window(lines: Sequence[str], first: int, last: int, fits: Callable[[Scope], bool]) -> Scope:
    """Lines around first..last, as many as fit (at most `_WINDOW_LINES` either side)."""
    scope = Scope(first, min(last + 1, len(lines)), "lines")
    for reach in range(1, _WINDOW_LINES + 1):
        wider = Scope(max(0, first - reach), min(len(lines), last + 1 + reach), "lines")
        if wider == scope or not fits(wider):
            break
        scope = wider
    return scope


def candidate_scopes(lines: Sequence[str], language_id: str, first: int, last: int) -> list[Scope]:
    """Every enclosing scope of lines first..last, innermost first, by the best method for the language."""
    if language_id == "python":
        scopes = python_scopes("".join(lines), first, last)
        if scopes is not None:
            return scopes
    if language_id in BRACE_LANGUAGES:
        return brace_scopes(lines, first, last)
    return indent_scopes(lines, first, last)


def enclosing_scope(
    lines: Sequence[str], language_id: str, first: int, last: int, fits: Callable[[Scope], bool]
) -> Scope:
    """The innermost enclosing function or class that fits the budget; else nearby lines.

    For Python module-level code the top-level statements touched are used; for other code outside
    any definition, the outermost enclosing block that fits.
    """
    last = max(first, min(last, len(lines) - 1))
    scopes = candidate_scopes(lines, language_id, first, last)
    for scope in scopes:
        if scope.kind in ("function", "class", "statement"):
            return scope if fits(scope) else line_window(lines, first, last, fits)
    blocks = [scope for scope in scopes if fits(scope)]
    if blocks:
        return blocks[-1]
    return line_window(lines, first, last, fits)


def selection_scope(
    lines: Sequence[str], language_id: str, first: int, last: int, whole_definitions: bool
) -> Scope:
    """What a rewrite of a selection replaces: the selected whole lines, or the definition around them.

    With `whole_definitions` (docstrings, type hints, tests) a selection inside one function grows to
    that function; otherwise (e.g. "Simplify") Python selections grow only to whole statements, so
    the rewritten text always parses on its own.
    """
    last = max(first, min(last, len(lines) - 1))
    if whole_definitions:
        for scope in candidate_scopes(lines, language_id, first, last):
            if scope.kind in ("function", "class"):
                return scope
    if language_id == "python":
        statements = python_statements("".join(lines), first, last)
        if statements is not None:
            return statements
    return Scope(first, last + 1, "lines")
