"""Check a proposed rewrite before it is offered: its edits stay in scope and the result parses."""

from __future__ import annotations

import ast
import functools
import importlib
import logging
import re
import textwrap
import warnings
from collections.abc import Sequence
from typing import Any

from spark_lsp.engine.edits import LineEdit

logger = logging.getLogger(__name__)

# Optional tree-sitter grammars (small per-language wheels that work offline): module, function.
_TREE_SITTER: dict[str, tuple[str, str]] = {
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "shellscript": ("tree_sitter_bash", "language"),
    "json": ("tree_sitter_json", "language"),
    "css": ("tree_sitter_css", "language"),
}
_PAIRS = {")": "(", "]": "[", "}": "{"}
_HASH_COMMENTS = frozenset({"python", "ruby", "shellscript", "yaml", "perl", "r", "toml", "makefile"})
_LEXEME = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`|[()\[\]{}\"'`]", re.S
)


@functools.cache
def _parser(language_id: str) -> Any | None:
    """A tree-sitter parser for the language when its grammar wheel is installed, else None."""
    spec = _TREE_SITTER.get(language_id)
    if spec is None:
        return None
    try:
        tree_sitter = importlib.import_module("tree_sitter")
        grammar = importlib.import_module(spec[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tree_sitter.Parser(tree_sitter.Language(getattr(grammar, spec[1])()))
    except Exception:
        return None


def _tree_errors(node: Any, found: list[int]) -> None:
    if node.is_error or node.is_missing:
        found.append(node.start_point[0])
        return
    if node.has_error:
        for child in node.children:
            _tree_errors(child, found)


def syntax_errors(language_id: str, text: str) -> list[int] | None:
    """0-based lines of syntax errors (empty: it parses), or None when no parser knows the language."""
    if language_id == "python":
        try:
            with warnings.catch_warnings():
                # Invalid escape sequences in user code are warnings, not our business.
                warnings.simplefilter("ignore")
                ast.parse(text)
        except SyntaxError as error:
            return [max(0, (error.lineno or 1) - 1)]
        except ValueError:  # null bytes
            return [0]
        return []
    parser = _parser(language_id)
    if parser is None:
        return None
    found: list[int] = []
    _tree_errors(parser.parse(text.encode("utf-8", "surrogatepass")).root_node, found)
    return found


def bracket_problems(text: str, language_id: str = "") -> int:
    """Unbalanced brackets and unterminated quotes, outside strings and comments."""
    if language_id in _HASH_COMMENTS:
        text = re.sub(r"#[^\n]*", "", text)
    stack: list[str] = []
    problems = 0
    for match in _LEXEME.finditer(text):
        token = match.group()
        if len(token) > 1 or token in "\"'`":
            problems += len(token) == 1  # a lone quote: an unterminated string
            continue
        if token in "([{":
            stack.append(token)
        elif _PAIRS[token] in stack:
            # Close the matching opener; anything opened after it was left unclosed.
            while stack.pop() != _PAIRS[token]:
                problems += 1
        else:
            problems += 1
    return problems + len(stack)


def edits_in_scope(edits: Sequence[LineEdit], start: int, end: int) -> str | None:
    """None when every edit lies within lines [start, end); else what is wrong."""
    for edit in edits:
        if edit.start < start or edit.end > end:
            return (
                f"the answer changes lines {edit.start + 1}..{edit.end} outside the code it was asked about"
            )
    return None


def check_syntax(
    language_id: str, old_file: str, new_file: str, old_region: str, new_region: str, region_start: int
) -> str | None:
    """None when the rewritten file parses at least as well as before; else why not.

    A file that did not parse before (the diagnostic may be that very error, or another one
    elsewhere) is accepted when no error is left inside the rewritten region. Without a parser for
    the language, the region's brackets and quotes must balance at least as well as before.
    """
    new_errors = syntax_errors(language_id, new_file)
    if new_errors is None:
        before, after = bracket_problems(old_region, language_id), bracket_problems(new_region, language_id)
        if after > before or (before == 0 and after > 0):
            return "the rewritten code has unbalanced brackets or quotes"
        return None
    if not new_errors:
        return None
    region_end = region_start + new_region.count("\n") + 1
    inside = [line for line in new_errors if region_start <= line < region_end]
    if inside:
        return f"the rewritten code does not parse (line {inside[0] + 1})"
    old_errors = syntax_errors(language_id, old_file) or []
    if not old_errors:
        return f"the result does not parse (line {new_errors[0] + 1})"
    if language_id == "python" and syntax_errors("python", textwrap.dedent(new_region)):
        # Python reports only the first error: make sure the region itself is sound.
        return "the rewritten code does not parse"
    return None
