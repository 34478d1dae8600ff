"""Finding what was typed at a cursor between two snapshots."""

from __future__ import annotations

from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.typed_since import consistent, typed_since


def _lines(text: str) -> tuple[str, ...]:
    return tuple(split_lines(text))


def test_typed_on_the_same_line_and_across_lines() -> None:
    old = _lines("def f():\n    return \nx = 1\n")
    assert typed_since(old, 1, 11, _lines("def f():\n    return a + b\nx = 1\n")) == "a + b"
    assert typed_since(old, 1, 11, _lines("def f():\n    return a\n    b\nx = 1\n")) == "a\n    b"
    assert typed_since(old, 1, 11, old) == ""


def test_other_changes_are_not_typing_at_the_cursor() -> None:
    old = _lines("def f():\n    return \nx = 1\n")
    assert typed_since(old, 1, 11, _lines("def g():\n    return a\nx = 1\n")) is None
    assert typed_since(old, 1, 11, _lines("def f():\n    return a\nx = 2\n")) is None
    assert typed_since(old, 1, 11, _lines("def f():\n    retur\nx = 1\n")) is None  # a deletion
    assert typed_since(old, 1, 4, _lines("def f():\n    xreturn \nx = 1\n")) == "x"


def test_consistency_with_a_partial_suggestion() -> None:
    assert consistent("a +", "a + b")
    assert consistent("a + b + c", "a + b")
    assert consistent("", "")
    assert not consistent("z", "a + b")
    assert consistent("x\r\n", "x\n    y")
