"""Quick-fixes and selection rewrites: the region and its context, the prompt, and the checked edit."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spark_lsp.engine.checked_generation import Failure
from spark_lsp.engine.edits import (
    LineEdit,
    apply_line_edits,
    keep_blank_edges,
    line_edits,
    rebase_indent,
    region_lines,
)
from spark_lsp.engine.rewrite_answer import parse_rewrite
from spark_lsp.engine.scope import Scope, enclosing_scope, selection_scope
from spark_lsp.engine.tokens import LineTokenCounter
from spark_lsp.engine.validation import check_syntax, edits_in_scope, syntax_errors

ActionKind = Literal["fix", "simplify", "typeHints", "docstring", "tests"]
REWRITE_TITLES: dict[ActionKind, str] = {
    "simplify": "Simplify",
    "typeHints": "Add type hints",
    "docstring": "Add docstring",
    "tests": "Write tests for this",
}
TYPED_LANGUAGES = frozenset(
    {"python", "typescript", "typescriptreact", "javascript", "javascriptreact", "php"}
)
_TASKS: dict[ActionKind, str] = {
    "fix": "Fix this problem with the smallest correct change. Do not change anything else.",
    "simplify": "Simplify this code without changing what it does. Keep names that other code may use.",
    "typeHints": "Add type hints (annotations) to this code. Change nothing else.",
    "docstring": (
        "Add a concise docstring (or the language's doc comment) to each function or class defined "
        "here. Change nothing else."
    ),
}
SYSTEM_PROMPT = (
    "You are a careful programmer editing code inside an editor. You are given one region of a file, "
    "with some code before and after it for context. Reply with the complete rewritten region in "
    "exactly one fenced code block and nothing else: keep its indentation, change only what the task "
    "asks, and never repeat the context code."
)
TESTS_SYSTEM_PROMPT = (
    "You write focused unit tests. Reply with the test code only, in exactly one fenced code block: "
    "imports first, using the project's usual test framework for the language."
)
_TEST_FILES: dict[str, str] = {
    "python": "test_{stem}.py",
    "javascript": "{stem}.test.js",
    "javascriptreact": "{stem}.test.jsx",
    "typescript": "{stem}.test.ts",
    "typescriptreact": "{stem}.test.tsx",
    "go": "{stem}_test.go",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A diagnostic from any server, reduced to what the prompt needs (0-based lines)."""

    message: str
    start_line: int
    end_line: int
    source: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class RewriteJob:
    """One rewrite of one region of one document version."""

    kind: ActionKind
    path: str
    language_id: str
    lines: tuple[str, ...]
    region: Scope
    before: str
    after: str
    eol: str
    problem: Problem | None = None

    @property
    def original(self) -> str:
        """The region's text with "\\n" line ends."""
        return _plain("".join(self.lines[self.region.start : self.region.end]))

    @property
    def terminated(self) -> bool:
        """Whether the region's last line has a line end (it is not the document's last line)."""
        return self.region.end < len(self.lines)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A checked rewrite: minimal edits of the document it was computed for."""

    edits: tuple[LineEdit, ...]
    new_text: str


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _context(lines: Sequence[str], region: Scope, budget: int, counter: LineTokenCounter) -> tuple[str, str]:
    """Whole lines before and after the region within `budget` tokens (60% before, 40% after)."""
    above_budget = int(budget * 0.6)
    start = region.start
    used = 0
    while start > 0 and used + counter.line(lines[start - 1]) <= above_budget:
        start -= 1
        used += counter.line(lines[start])
    below_budget = budget - used
    end = region.end
    used = 0
    while end < len(lines) and used + counter.line(lines[end]) <= below_budget:
        used += counter.line(lines[end])
        end += 1
    return _plain("".join(lines[start : region.start])), _plain("".join(lines[region.end : end]))


def plan_job(
    lines: Sequence[str],
    path: str,
    language_id: str,
    kind: ActionKind,
    first: int,
    last: int,
    problem: Problem | None,
    counter: LineTokenCounter,
    budget: int,
    eol: str = "\n",
) -> RewriteJob:
    """The region to rewrite for an action on lines first..last, and its context within `budget` tokens.

    A fix rewrites the enclosing function or class (or nearby lines when that is too big for half
    the budget); a rewrite of a selection replaces the selected statements, or the definition around
    them for docstrings, type hints and tests.
    """

    def fits(scope: Scope) -> bool:
        return counter.lines(lines[scope.start : scope.end]) <= budget // 2

    if kind == "fix":
        region = enclosing_scope(lines, language_id, first, last, fits)
    else:
        region = selection_scope(lines, language_id, first, last, kind in ("docstring", "typeHints", "tests"))
    remaining = max(0, budget - counter.lines(lines[region.start : region.end]))
    before, after = _context(lines, region, remaining, counter)
    return RewriteJob(kind, path, language_id, tuple(lines), region, before, after, eol, problem)


def _block(label: str, code: str, language_id: str) -> str:
    fence = _fence(code)
    return f"{label}\n{fence}{language_id}\n{code.rstrip(chr(10))}\n{fence}\n"


def rewrite_messages(job: RewriteJob) -> list[dict[str, str]]:
    """The chat prompt: context, the region, the problem, and what to do."""
    language = job.language_id
    region = job.region
    parts = [f"File: {job.path} ({language})\n"]
    if job.before.strip():
        parts.append(_block("Code before the region (context only):", job.before, language))
    parts.append(
        _block(f"Region to rewrite (lines {region.start + 1}-{region.end}):", job.original, language)
    )
    if job.after.strip():
        parts.append(_block("Code after the region (context only):", job.after, language))
    if job.problem is not None:
        problem = job.problem
        origin = " ".join(part for part in (problem.source, problem.code and f"[{problem.code}]") if part)
        line_text = (
            _plain(job.lines[problem.start_line]).strip() if problem.start_line < len(job.lines) else ""
        )
        parts.append(
            f"Problem reported{' by ' + origin if origin else ''} at line {problem.start_line + 1} "
            f"(`{line_text}`): {problem.message}\n"
        )
    if job.kind == "tests":
        parts.append(
            "Write unit tests for the region's code, as a new test module that imports it from "
            f"`{job.path}`. Cover normal cases and edge cases.\n"
        )
    else:
        parts.append(_TASKS[job.kind] + "\n")
    system = TESTS_SYSTEM_PROMPT if job.kind == "tests" else SYSTEM_PROMPT
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)}]


def max_tokens_for(job: RewriteJob, counter: LineTokenCounter, ceiling: int) -> int:
    """Room for the rewritten region and some growth; small, as providers reserve it against limits."""
    region_tokens = counter.lines(job.lines[job.region.start : job.region.end])
    growth = 3 if job.kind in ("tests", "docstring") else 2
    return max(64, min(ceiling, growth * region_tokens + 256))


def interpret(job: RewriteJob, answer: str) -> Rewrite | Failure:
    """The answer as minimal edits of the job's document, checked: in scope, applies, parses."""
    if job.kind == "tests":
        return Failure("tests are written to a separate file")
    parsed = parse_rewrite(answer, job.original)
    if parsed is None:
        return Failure("the answer holds no code")
    old = region_lines(job.original, job.eol, job.terminated)
    new = region_lines(parsed.text, job.eol, job.terminated)
    new = keep_blank_edges(old, rebase_indent(old, new))
    edits = line_edits(old, new, job.region.start)
    if not edits:
        return Failure("the answer changes nothing")
    problem = edits_in_scope(edits, job.region.start, job.region.end)
    if problem is not None:
        return Failure(problem)
    try:
        result = apply_line_edits(job.lines, edits)
    except ValueError as error:
        return Failure(f"the edit does not apply: {error}")
    old_file, new_file = _plain("".join(job.lines)), _plain("".join(result))
    problem = check_syntax(
        job.language_id, old_file, new_file, job.original, _plain("".join(new)), job.region.start
    )
    if problem is not None:
        return Failure(problem)
    return Rewrite(tuple(edits), "".join(result))


def sibling_test_path(path: str, language_id: str) -> str | None:
    """Where tests for a file go (a sibling file by the language's convention), or None if unknown."""
    template = _TEST_FILES.get(language_id)
    directory, name = posixpath.split(path)
    stem = name.split(".", 1)[0]
    if template is None or not stem or stem.startswith("test_") or stem.endswith(("_test", ".test")):
        return None
    return posixpath.join(directory, template.format(stem=stem))


def interpret_tests(answer: str, language_id: str, existing: str | None) -> str | Failure:
    """The text to add to the test file (appended to `existing`, or the whole new file), checked."""
    parsed = parse_rewrite(answer, "")
    if parsed is None or not parsed.text.strip():
        return Failure("the answer holds no tests")
    code = parsed.text if parsed.text.endswith("\n") else parsed.text + "\n"
    addition = code
    if existing is not None and existing.strip():
        # Appended after two blank lines, as between top-level definitions.
        addition = ("" if existing.endswith("\n") else "\n") + "\n\n" + code
    result = (existing or "") + addition
    errors = syntax_errors(language_id, result)
    if errors:
        return Failure(f"the tests do not parse (line {errors[0] + 1})")
    return addition
