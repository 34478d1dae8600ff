"""Key intervals and the simulated user's bookkeeping for the typing replay."""

from __future__ import annotations

import random
import statistics

import pytest

from spark_lsp.bench.editor import EditorDocument, position_after, utf16_length
from spark_lsp.bench.intervals import FIRST_KEY_S, auto_indent_mask, key_intervals
from spark_lsp.bench.user import RegionProgress, judge

TEXT = "x = compute(a, b)\n    if x:\n        return x\n"


def test_intervals_are_seeded_and_one_per_character() -> None:
    first = key_intervals(TEXT, random.Random(3))
    assert first == key_intervals(TEXT, random.Random(3))
    assert first != key_intervals(TEXT, random.Random(4))
    assert len(first) == len(TEXT) and first[0] == FIRST_KEY_S


def test_intervals_look_human_and_pause_at_line_starts_and_punctuation() -> None:
    text = ("abcdefgh " * 200 + "\n") * 5
    intervals = key_intervals(text, random.Random(1))
    plain = [intervals[i] for i in range(1, len(text)) if text[i - 1].isalpha()]
    assert 0.12 <= statistics.median(plain) <= 0.18
    line_starts = [intervals[i + 1] for i, c in enumerate(text[:-1]) if c == "\n"]
    assert min(line_starts) > statistics.median(plain)
    punctuated = key_intervals("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", random.Random(1))
    after_comma = statistics.median(punctuated[2::2])
    assert after_comma > statistics.median(plain)


def test_speed_divides_every_interval() -> None:
    slow = key_intervals(TEXT, random.Random(3))
    fast = key_intervals(TEXT, random.Random(3), speed=4)
    assert fast == pytest.approx([s / 4 for s in slow])


def test_auto_indent_mask_marks_only_indentation_after_newlines() -> None:
    mask = auto_indent_mask("  a\n    b c\n\n\tz")
    assert "".join("i" if m else "." for m in mask) == "....iiii.....i."


def test_progress_types_newlines_with_the_editor_indentation_and_accepts_suggestions() -> None:
    progress = RegionProgress(TEXT.rstrip("\n"))
    assert progress.next_keystroke() == "x"
    progress.accept(" = compute(a, b)")
    assert progress.next_keystroke() == "\n    "
    progress.accept("if x:\n        return")
    while not progress.finished:
        progress.next_keystroke()
    assert progress.typed == 1 + 1 + 2  # "x", the newline, " x"
    assert progress.accepted == len(" = compute(a, b)") + len("if x:\nreturn")
    assert progress.typed + progress.accepted == progress.effort
    assert progress.auto_indent == 12
    assert progress.tabs == 2
    with pytest.raises(ValueError):
        RegionProgress("abc").accept("abd")


def test_judge_flags_wrong_and_stale_suggestions() -> None:
    assert judge("return x", "return x\n", 5, 5) == "correct"
    assert judge("return y", "return x\n", 5, 5) == "wrong"
    assert judge("return x\n\ndef next", "return x", 5, 5) == "wrong"
    assert judge("return x", "return x", 4, 5) == "stale"
    assert judge("return x", "return x", 5, 5, position_ok=False) == "stale"


def test_editor_positions_count_utf16_units() -> None:
    assert utf16_length("a😀b") == 4
    assert position_after("ab\ncd😀") == (1, 4)
    doc = EditorDocument.at("file:///x", "python", "def f():\n    s = '😀")
    assert doc.cursor == (1, 11)
    assert doc.insert("é\n  ") == (1, 11)
    assert doc.cursor == (2, 2) and doc.version == 2
