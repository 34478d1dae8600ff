"""The pure parts of quick-fixes: scopes, answer parsing, minimal edits and validation."""

from __future__ import annotations

import pytest

from spark_lsp.engine.checked_generation import Failure, FenceStop
from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.edits import (
    LineEdit,
    apply_line_edits,
    edit_range,
    keep_blank_edges,
    line_edits,
    rebase_indent,
    region_lines,
)
from spark_lsp.engine.quickfix import (
    Problem,
    Rewrite,
    interpret,
    interpret_tests,
    plan_job,
    sibling_test_path,
)
from spark_lsp.engine.rewrite_answer import apply_unified_diff, fenced_blocks, parse_rewrite
from spark_lsp.engine.scope import (
    Scope,
    brace_scopes,
    enclosing_scope,
    indent_scopes,
    python_scopes,
    selection_scope,
)
from spark_lsp.engine.tokens import LineTokenCounter
from spark_lsp.engine.validation import bracket_problems, check_syntax, edits_in_scope, syntax_errors

PYTHON = '''import os


class Cart:
    """A cart."""

    @property
    def total(self):
        result = 0
        for item in self.items:
            result += item.price
        return reuslt

    def empty(self):
        return not self.items


VALUE = compute(
    1,
    2,
)
'''
JS = """import { x } from "./x";

export function total(items) {
  let result = 0;
  for (const item of items) {
    if (item.price > 0) {
      result += item.price; // "}" in a comment
    }
  }
  return reuslt;
}

const double = (n) => {
  return n * 2;
};
"""
COUNTER = LineTokenCounter()


def everything(scope: Scope) -> bool:
    return True


# Scopes ----------------------------------------------------------------------------------------


def test_python_scope_is_the_innermost_def_with_its_decorators() -> None:
    scopes = python_scopes(PYTHON, 11, 11)
    assert scopes is not None
    assert scopes[0] == Scope(6, 12, "function", "total")
    assert scopes[1] == Scope(3, 15, "class", "Cart")


def test_python_module_level_code_is_its_top_level_statement() -> None:
    assert python_scopes(PYTHON, 18, 18) == [Scope(17, 21, "statement")]
    assert enclosing_scope(split_lines(PYTHON), "python", 18, 18, everything) == Scope(17, 21, "statement")


def test_a_scope_too_big_for_the_budget_becomes_nearby_lines() -> None:
    lines = split_lines(PYTHON)
    scope = enclosing_scope(lines, "python", 11, 11, lambda s: s.end - s.start <= 3)
    assert scope.kind == "lines" and scope.contains(11, 11) and scope.end - scope.start <= 3


def test_python_that_does_not_parse_falls_back_to_indentation() -> None:
    broken = PYTHON.replace("return reuslt", "return (reuslt")
    assert python_scopes(broken, 11, 11) is None
    scopes = indent_scopes(split_lines(broken), 11, 11)
    assert scopes[0] == Scope(6, 12, "function")
    assert enclosing_scope(split_lines(broken), "python", 11, 11, everything) == Scope(6, 12, "function")


def test_brace_scopes_skip_strings_and_comments_and_prefer_definitions() -> None:
    lines = split_lines(JS)
    scopes = brace_scopes(lines, 6, 6)
    assert [(s.start, s.end, s.kind) for s in scopes] == [
        (5, 8, "block"),
        (4, 9, "block"),
        (2, 11, "function"),
    ]
    assert enclosing_scope(lines, "javascript", 9, 9, everything) == Scope(2, 11, "function")
    assert enclosing_scope(lines, "typescript", 13, 13, everything) == Scope(12, 15, "function")


def test_selection_scopes_grow_to_statements_or_definitions() -> None:
    lines = split_lines(PYTHON)
    assert selection_scope(lines, "python", 9, 9, whole_definitions=False) == Scope(9, 11, "statement")
    assert selection_scope(lines, "python", 8, 8, whole_definitions=True) == Scope(6, 12, "function", "total")
    assert selection_scope(lines, "go", 2, 3, whole_definitions=False) == Scope(2, 4, "lines")


# Answers ---------------------------------------------------------------------------------------

ORIGINAL = "def f(x):\n    y = x + 1\n    return y\n"


def test_a_fenced_answer_most_like_the_original_wins() -> None:
    answer = (
        "Here you go:\n```python\nf(1)\n```\n\n```python\ndef f(x):\n    y = x + 2\n    return y\n```\nDone."
    )
    parsed = parse_rewrite(answer, ORIGINAL)
    assert parsed is not None and parsed.shape == "fenced"
    assert parsed.text == "def f(x):\n    y = x + 2\n    return y\n"


def test_plain_code_with_a_preamble_and_thinking() -> None:
    answer = "<think>the bug is the +1</think>Here is the fixed code:\ndef f(x):\n    return x\n"
    parsed = parse_rewrite(answer, ORIGINAL)
    assert parsed is not None and (parsed.shape, parsed.text) == ("plain", "def f(x):\n    return x\n")


@pytest.mark.parametrize(
    "diff",
    [
        "```diff\n--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,3 @@\n"
        " def f(x):\n-    y = x + 1\n+    y = x + 2\n     return y\n```",
        "@@ -2,1 +2,1 @@\n-    y = x + 1\n+    y = x + 2\n",
        "```diff\n-    y = x + 1\n+    y = x + 2\n```",
    ],
    ids=["fenced-with-headers", "bare-hunk", "no-hunk-header"],
)
def test_a_unified_diff_is_applied_to_the_original(diff: str) -> None:
    parsed = parse_rewrite(diff, ORIGINAL)
    assert parsed is not None and parsed.shape == "diff"
    assert parsed.text == "def f(x):\n    y = x + 2\n    return y\n"


def test_a_diff_that_does_not_fit_is_nothing() -> None:
    assert apply_unified_diff(ORIGINAL, "@@ -1 +1 @@\n-    z = 3\n+    z = 4\n") is None
    assert parse_rewrite("```diff\n-nope\n+yes\n```", ORIGINAL) is None


def test_an_unclosed_fence_runs_to_the_end() -> None:
    (block,) = fenced_blocks("```py\ncode\nmore")
    assert (block.info, block.body, block.closed) == ("py", "code\nmore\n", False)


def test_fence_stop_waits_for_the_closing_fence() -> None:
    stop = FenceStop()
    assert not stop.should_stop("```python\ndef f():\n")
    assert not stop.should_stop("```python\ndef f():\n    return '``'\n")
    assert stop.should_stop("```python\ndef f():\n    pass\n```")
    assert not stop.should_stop("def f():\n    pass\n")


# Edits -----------------------------------------------------------------------------------------


def test_line_edits_are_only_the_changed_lines() -> None:
    old = ["a\n", "b\n", "c\n", "d\n"]
    new = ["a\n", "B\n", "c\n", "d\n", "e\n"]
    assert line_edits(old, new, offset=10) == [LineEdit(11, 12, "B\n"), LineEdit(14, 14, "e\n")]


def test_apply_and_ranges_at_the_end_of_a_document_without_a_final_newline() -> None:
    lines = split_lines("x = 1\ny = 2")
    old = region_lines("y = 2", "\n", terminated=False)
    new = region_lines("y = 3\nz = 4\n", "\n", terminated=False)
    edits = line_edits(old, new, offset=1)
    assert edits == [LineEdit(1, 2, "y = 3\nz = 4")]
    assert apply_line_edits(lines, edits) == ["x = 1\n", "y = 3\n", "z = 4"]
    assert edit_range(lines, edits[0]) == ((1, 0), (1, 5))


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(ValueError):
        apply_line_edits(["a\n", "b\n", ""], [LineEdit(0, 2, ""), LineEdit(1, 2, "")])


def test_crlf_documents_keep_their_line_ends() -> None:
    assert region_lines("a\nb\n", "\r\n", terminated=True) == ["a\r\n", "b\r\n"]


def test_a_dedented_answer_gets_the_region_indentation_back_and_blank_edges_stay() -> None:
    old = ["\n", "    def f(self):\n", "        return 1\n", "\n"]
    new = ["def f(self):\n", "    return 2\n"]
    assert keep_blank_edges(old, rebase_indent(old, new)) == [
        "\n",
        "    def f(self):\n",
        "        return 2\n",
        "\n",
    ]


# Validation ------------------------------------------------------------------------------------


def test_python_syntax_errors_have_lines() -> None:
    assert syntax_errors("python", "x = 1\n") == []
    assert syntax_errors("python", "x = 1\ny = (\n") == [1]
    assert syntax_errors("cobol", "anything") is None


def test_brackets_and_quotes_outside_strings_and_comments() -> None:
    assert bracket_problems('f(a["}"]) // )') == 0
    assert bracket_problems("f(a[0)") == 1  # the unclosed "["
    assert bracket_problems("x = 'open") == 1
    assert bracket_problems("# (", "python") == 0


def test_check_syntax_compares_with_the_file_before() -> None:
    good, bad = "x = 1\n", "x = (\n"
    assert check_syntax("python", good, good, good, good, 0) is None
    assert check_syntax("python", good, bad, good, bad, 0) is not None
    # A file already broken elsewhere: a sound region is accepted.
    broken_after = "def f():\n    return 1\n\ny = (\n"
    fixed_region = "def f():\n    return 2\n"
    assert check_syntax("python", broken_after, broken_after.replace("1", "2"), "", fixed_region, 0) is None
    # Without a parser, brackets decide.
    assert check_syntax("cobol", "a(b)", "a(b", "a(b)", "a(b", 0) is not None
    assert check_syntax("cobol", "a(b)", "a(c)", "a(b)", "a(c)", 0) is None


def test_tree_sitter_is_used_when_its_grammar_is_installed() -> None:
    pytest.importorskip("tree_sitter_javascript")
    assert syntax_errors("javascript", JS) == []
    errors = syntax_errors("javascript", JS.replace("return reuslt;", "return reuslt +;"))
    assert errors == [9]


def test_edits_outside_the_scope_are_reported() -> None:
    assert edits_in_scope([LineEdit(3, 4, "")], 3, 5) is None
    assert edits_in_scope([LineEdit(2, 4, "")], 3, 5) is not None


# Quick-fix jobs --------------------------------------------------------------------------------


def _job(text: str = PYTHON, kind: str = "fix", first: int = 11, last: int = 11) -> object:
    problem = Problem('"reuslt" is not defined', 11, 11, "Pyright", "reportUndefinedVariable")
    return plan_job(split_lines(text), "cart.py", "python", kind, first, last, problem, COUNTER, 2000)  # type: ignore[arg-type]


def test_a_fix_job_rewrites_the_method_and_gives_context() -> None:
    job = _job()
    assert job.region == Scope(6, 12, "function", "total")  # type: ignore[attr-defined]
    assert job.original.startswith("    @property\n")  # type: ignore[attr-defined]
    assert "class Cart:" in job.before and "def empty" in job.after  # type: ignore[attr-defined]


def test_interpret_a_good_answer_into_one_line_edit() -> None:
    job = _job()
    answer = "```python\n@property\ndef total(self):\n    result = 0\n    for item in self.items:\n"
    answer += "        result += item.price\n    return result\n```"
    result = interpret(job, answer)  # type: ignore[arg-type]
    assert isinstance(result, Rewrite)
    assert result.edits == (LineEdit(11, 12, "        return result\n"),)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("```python\n    @property\n    def total(self):\n        return (\n```", "does not parse"),
        ("", "holds no code"),
        (
            "```python\n    @property\n    def total(self):\n        result = 0\n"
            "        for item in self.items:\n            result += item.price\n        return reuslt\n```",
            "changes nothing",
        ),
    ],
    ids=["syntax-error", "empty", "unchanged"],
)
def test_interpret_rejects_bad_answers(answer: str, reason: str) -> None:
    result = interpret(_job(), answer)  # type: ignore[arg-type]
    assert isinstance(result, Failure) and reason in result.reason


def test_test_files_follow_the_language_convention() -> None:
    assert sibling_test_path("/p/cart.py", "python") == "/p/test_cart.py"
    assert sibling_test_path("/p/cart.ts", "typescript") == "/p/cart.test.ts"
    assert sibling_test_path("/p/cart.go", "go") == "/p/cart_test.go"
    assert sibling_test_path("/p/test_cart.py", "python") is None
    assert sibling_test_path("/p/cart.rs", "rust") is None


def test_tests_are_appended_after_two_blank_lines_and_must_parse() -> None:
    answer = "```python\ndef test_total():\n    assert True\n```"
    assert interpret_tests(answer, "python", None) == "def test_total():\n    assert True\n"
    assert interpret_tests(answer, "python", "import cart\n") == "\n\ndef test_total():\n    assert True\n"
    assert isinstance(interpret_tests("```python\ndef test(:\n```", "python", None), Failure)


def test_a_selection_from_the_def_line_covers_the_whole_function() -> None:
    from spark_lsp.engine.scope import python_statements

    text = "import math\n\n\ndef get_flag() -> bool:\n    x = 1\n    return x\n\n\ny = 2\n"
    whole = python_statements(text, 3, 5)
    assert whole is not None and (whole.start, whole.end) == (3, 6)
    body = python_statements(text, 4, 5)
    assert body is not None and (body.start, body.end) == (4, 6)
