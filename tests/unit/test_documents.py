"""Tests for open documents: full and incremental sync, snapshots and the store."""

from __future__ import annotations

import logging
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lsp.engine.documents import (
    Document,
    DocumentNotOpen,
    DocumentSnapshot,
    DocumentStore,
    split_lines,
)
from spark_lsp.engine.positions import PositionEncoding

UTF8 = PositionEncoding.UTF8
UTF16 = PositionEncoding.UTF16
UTF32 = PositionEncoding.UTF32


def doc(text: str, version: int = 1) -> Document:
    """Make a document with a fixed uri."""
    return Document("file:///t.py", "python", version, text)


def edit(document: Document, start: tuple[int, int], end: tuple[int, int], text: str) -> str:
    """Apply one UTF-16 edit and return the new text."""
    document.apply_change(start, end, text, None, UTF16)
    return document.text()


# --- reference model: a plain string, positions converted one character at a time -----------------


def reference_lines(text: str) -> list[str]:
    """Split on LSP line ends by walking the string."""
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(text):
        ch = text[i]
        current += ch
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            current += "\n"
            i += 1
        if ch in "\r\n":
            lines.append(current)
            current = ""
        i += 1
    lines.append(current)
    return lines


def reference_offset(text: str, line: int, character: int, encoding: PositionEncoding) -> int:
    """Convert an LSP position to an offset into `text` with clamping, the slow obvious way."""
    lines = reference_lines(text)
    if line >= len(lines):
        return len(text)
    before = sum(len(x) for x in lines[:line])
    content = lines[line].rstrip("\r\n")
    seen = 0
    index = 0
    for ch in content:
        width = {
            UTF8: len(ch.encode("utf-8")),
            UTF16: len(ch.encode("utf-16-le")) // 2,
            UTF32: 1,
        }[encoding]
        if seen + width > character:
            break
        seen += width
        index += 1
    return before + index


# --- split_lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\nb", ["a\n", "b"]),
        ("a\n", ["a\n", ""]),
        ("a\r\nb\r\n", ["a\r\n", "b\r\n", ""]),
        ("a\rb\r", ["a\r", "b\r", ""]),
        ("a\r\r\nb\n\rc", ["a\r", "\r\n", "b\n", "\r", "c"]),
        ("\n\n", ["\n", "\n", ""]),
        # Only \n, \r\n and \r end lines in LSP, unlike str.splitlines.
        ("a\x0bb\x0cc\u2028d\x85e", ["a\x0bb\x0cc\u2028d\x85e"]),
    ],
)
def test_split_lines(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines
    assert reference_lines(text) == lines


# --- Document edits -------------------------------------------------------------------------------


def test_insert_delete_replace_within_line() -> None:
    d = doc("hello world\n")
    assert edit(d, (0, 5), (0, 5), ",") == "hello, world\n"
    assert edit(d, (0, 0), (0, 5), "HELLO") == "HELLO, world\n"
    assert edit(d, (0, 5), (0, 6), "") == "HELLO world\n"


def test_insert_and_delete_newlines() -> None:
    d = doc("ab\ncd")
    assert edit(d, (0, 1), (0, 1), "\n") == "a\nb\ncd"
    assert d.line_count == 3
    assert edit(d, (0, 1), (1, 0), "") == "ab\ncd"
    assert edit(d, (0, 2), (1, 0), "") == "abcd"
    assert d.line_count == 1
    assert edit(d, (0, 4), (0, 4), "\n") == "abcd\n"
    assert d.snapshot().lines == ("abcd\n", "")


def test_edit_spanning_many_lines() -> None:
    d = doc("".join(f"line {i}\n" for i in range(100)))
    text = edit(d, (10, 2), (90, 4), "X\nY")
    assert text == "".join(f"line {i}\n" for i in range(10)) + "liX\nY 90\n" + "".join(
        f"line {i}\n" for i in range(91, 100)
    )
    assert d.snapshot().lines == tuple(split_lines(text))


def test_edit_at_line_boundaries() -> None:
    d = doc("a\nb\nc")
    assert edit(d, (1, 0), (1, 0), "x") == "a\nxb\nc"
    assert edit(d, (1, 2), (2, 0), "") == "a\nxbc"
    assert edit(d, (2, 0), (2, 0), "end") == "a\nxbcend"  # line past the end: append


def test_clamping_and_swap() -> None:
    d = doc("abc\ndef")
    assert edit(d, (0, 99), (0, 99), "!") == "abc!\ndef"  # before the terminator, not after
    assert edit(d, (7, 0), (9, 9), "?") == "abc!\ndef?"
    assert edit(d, (1, 2), (0, 1), "") == "af?"  # start after end: swapped
    assert edit(d, (-1, 0), (0, 1), "") == "f?"


def test_crlf_document() -> None:
    d = doc("one\r\ntwo\r\nthree")
    assert edit(d, (0, 3), (0, 3), "!") == "one!\r\ntwo\r\nthree"
    assert edit(d, (0, 99), (1, 0), "") == "one!two\r\nthree"
    assert edit(d, (0, 3), (0, 3), "\r\n") == "one\r\n!two\r\nthree"
    assert d.snapshot().lines == ("one\r\n", "!two\r\n", "three")
    assert d.snapshot().eol == "\r\n"


def test_cr_document() -> None:
    d = doc("one\rtwo\r")
    assert d.snapshot().lines == ("one\r", "two\r", "")
    assert edit(d, (1, 1), (1, 1), "\r") == "one\rt\rwo\r"
    assert d.snapshot().eol == "\r"


def test_inserting_lf_after_cr_makes_one_crlf() -> None:
    d = doc("a\rb")
    assert edit(d, (1, 0), (1, 0), "\n") == "a\r\nb"
    assert d.snapshot().lines == ("a\r\n", "b")


def test_deleting_between_cr_and_lf_joins_them() -> None:
    d = doc("a\rb\nc")
    assert edit(d, (1, 0), (1, 1), "") == "a\r\nc"
    assert d.snapshot().lines == ("a\r\n", "c")


def test_inserting_cr_before_lf_makes_one_crlf() -> None:
    d = doc("a\nb")
    assert edit(d, (0, 1), (0, 1), "\r") == "a\r\nb"
    assert d.snapshot().lines == ("a\r\n", "b")


def test_breaking_crlf_by_editing_line_content() -> None:
    d = doc("a\r\nb\r\n")
    assert edit(d, (0, 0), (1, 1), "x\ry") == "x\ry\r\n"
    assert d.snapshot().lines == ("x\r", "y\r\n", "")


def test_surrogate_pair_positions() -> None:
    d = doc("a😀b\n😀")
    assert edit(d, (0, 3), (0, 3), "|") == "a😀|b\n😀"
    assert edit(d, (0, 2), (0, 2), "<") == "a<😀|b\n😀"  # inside the pair: rounds down
    d.apply_change((1, 4), (1, 4), "!", None, UTF8)
    assert d.text() == "a<😀|b\n😀!"
    d.apply_change((1, 1), (1, 2), "", None, UTF32)
    assert d.text() == "a<😀|b\n😀"


def test_full_replace_and_versions() -> None:
    d = doc("old", version=1)
    d.apply_change(None, None, "new\ntext", 2, UTF16)
    assert (d.text(), d.version) == ("new\ntext", 2)
    d.apply_change((0, 0), (0, 0), "x", None, UTF16)
    assert d.version == 2
    d.replace_all("", 5)
    assert (d.snapshot().lines, d.version) == (("",), 5)


# --- snapshots ------------------------------------------------------------------------------------


def test_snapshot_is_frozen_and_survives_edits() -> None:
    d = doc("a\nb", version=3)
    snap = d.snapshot()
    assert d.snapshot() is snap  # cached until the next edit
    d.apply_change((0, 0), (1, 1), "zzz", 4, UTF16)
    assert snap.text() == "a\nb" and snap.version == 3
    assert d.snapshot().text() == "zzz" and d.snapshot().version == 4
    with pytest.raises(AttributeError):
        snap.version = 9  # type: ignore[misc]
    d.version = 7
    assert d.snapshot().version == 7


def test_snapshot_line_access() -> None:
    s = doc("x = 1\r\ny\n\nz").snapshot()
    assert s.line_count == 4
    assert [s.line_text(i) for i in range(4)] == ["x = 1", "y", "", "z"]
    with pytest.raises(IndexError):
        s.line_text(4)
    with pytest.raises(IndexError):
        s.line_text(-1)
    assert s.uri == "file:///t.py" and s.language_id == "python"


def test_eol() -> None:
    assert doc("no terminator").snapshot().eol == "\n"
    assert doc("a\r\nb\nc\r\n").snapshot().eol == "\r\n"
    assert doc("a\nb\r\n").snapshot().eol == "\n"  # tie: first seen


def test_position_conversions() -> None:
    s = doc("a😀b\nxyz").snapshot()
    assert s.position_to_index(0, 3, UTF16) == (0, 2)
    assert s.position_to_index(0, 5, UTF8) == (0, 2)
    assert s.position_to_index(0, 99, UTF16) == (0, 3)
    assert s.position_to_index(5, 0, UTF16) == (1, 3)
    assert s.index_to_position(0, 2, UTF16) == (0, 3)
    assert s.index_to_position(0, 2, UTF8) == (0, 5)
    assert s.index_to_position(9, 9, UTF16) == (1, 3)


def test_text_range() -> None:
    s = doc("abc\r\ndef\nghi").snapshot()
    assert s.text_range(0, 1, 0, 3) == "bc"
    assert s.text_range(0, 1, 2, 1) == "bc\r\ndef\ng"
    assert s.text_range(2, 1, 0, 1) == "bc\r\ndef\ng"  # reversed
    assert s.text_range(0, 0, 99, 0) == s.text()
    assert s.text_range(1, 99, 2, 0) == "\n"  # index clamps before the terminator


def test_prefix_suffix() -> None:
    s = doc("l0\nl1\nl2 cursor\nl3\nl4").snapshot()
    assert s.prefix_suffix(2, 3, 1, 1) == ("l1\nl2 ", "cursor\nl3\n")
    assert s.prefix_suffix(2, 3, 99, 99) == ("l0\nl1\nl2 ", "cursor\nl3\nl4")
    assert s.prefix_suffix(2, 3, 0, 0) == ("l2 ", "cursor\n")
    assert s.prefix_suffix(0, 0, 5, 0) == ("", "l0\n")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("def f():\n    if x:\n        y\n    z\n", "    "),
        ("function f() {\n  if (x) {\n    y;\n  }\n}\n", "  "),
        ("func f() {\n\tif x {\n\t\ty\n\t}\n}\n", "\t"),
        ("no indentation\nat all\n", "    "),
        ("/*\n * comment\n */\nint f() {\n  return 0;\n}\n", "  "),
    ],
)
def test_indent_unit(text: str, unit: str) -> None:
    assert doc(text).snapshot().indent_unit() == unit


def test_indent_unit_near_line() -> None:
    text = "".join(f"\tx{i}\n" for i in range(1000)) + "".join(f"  y{i}\n" for i in range(1000))
    s = doc(text).snapshot()
    assert s.indent_unit() == "\t"
    assert s.indent_unit(near_line=1900) == " " * 2
    assert doc("x").snapshot().indent_unit(default="\t") == "\t"


def test_large_document_edit_and_snapshot_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """Report (not assert) the cost of a keystroke and a snapshot on a 10k-line document."""
    text = "".join(f"    value_{i} = compute({i}, '中文')  # comment\n" for i in range(10_000))
    d = doc(text)
    started = time.perf_counter()
    for i in range(1000):
        d.apply_change((5000, 4), (5000, 4), "x", i + 2, UTF16)
    per_edit = (time.perf_counter() - started) / 1000
    started = time.perf_counter()
    for _ in range(1000):
        d.version += 1  # invalidates the cached snapshot so each one really copies
        d.snapshot()
    per_snapshot = (time.perf_counter() - started) / 1000
    with capsys.disabled():
        print(
            f"\n{len(text) // 1024} KB / {d.line_count} lines: "
            f"edit {per_edit * 1e6:.1f} µs, snapshot {per_snapshot * 1e6:.1f} µs"
        )
    assert d.snapshot().line_text(5000).startswith("    " + "x" * 1000 + "value_5000")


# --- store ----------------------------------------------------------------------------------------


def test_store_lifecycle() -> None:
    store = DocumentStore()
    opened = store.open("u", "python", 1, "a\nb")
    assert store.get("u") is opened and "u" in store and len(store) == 1
    assert store.change("u", [((0, 1), (0, 1), "!"), ((1, 0), (1, 1), "B")], 2, UTF16)
    assert opened.text() == "a!\nB" and opened.version == 2
    assert store.change("u", ["full"], 3, UTF16)
    snap = store.snapshot("u")
    assert isinstance(snap, DocumentSnapshot) and snap.text() == "full" and snap.version == 3
    assert store.change("u", [], 4, UTF16) and opened.version == 4
    assert store.close("u") is True
    assert store.close("u") is False
    assert store.get("u") is None and store.snapshot("u") is None


def test_store_change_unknown_document() -> None:
    store = DocumentStore()
    with pytest.raises(DocumentNotOpen) as raised:
        store.change("file:///missing", ["x"], 1, UTF16)
    assert isinstance(raised.value, KeyError)
    assert raised.value.uri == "file:///missing"
    assert "file:///missing" in str(raised.value)


def test_store_out_of_order_version_is_applied_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    store = DocumentStore()
    store.open("u", "python", 5, "a")
    with caplog.at_level(logging.WARNING, logger="spark_lsp.engine.documents"):
        assert store.change("u", ["b"], 3, UTF16) is False
    assert "version went from 5 to 3" in caplog.text
    document = store.get("u")
    assert document is not None and document.text() == "b" and document.version == 3


def test_store_reopen_replaces() -> None:
    store = DocumentStore()
    store.open("u", "python", 1, "a")
    store.open("u", "rust", 1, "b")
    document = store.get("u")
    assert document is not None and (document.language_id, document.text()) == ("rust", "b")


# --- property test against the reference model ----------------------------------------------------

PIECES = ["a", "b", " ", "\n", "\r\n", "\r", "é", "中", "😀", "👍🏽"]
piece_text = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


@st.composite
def edit_ops(draw: st.DrawFn) -> tuple[int, int, int, int, str, PositionEncoding]:
    """Draw a raw edit; positions may fall past line ends, past the last line or inside characters."""
    return (
        draw(st.integers(0, 12)),
        draw(st.integers(0, 14)),
        draw(st.integers(0, 12)),
        draw(st.integers(0, 14)),
        draw(piece_text),
        draw(st.sampled_from(list(PositionEncoding))),
    )


@settings(max_examples=200, deadline=None)
@given(initial=piece_text, ops=st.lists(edit_ops(), max_size=25))
def test_incremental_edits_match_reference(
    initial: str, ops: list[tuple[int, int, int, int, str, PositionEncoding]]
) -> None:
    d = doc(initial)
    model = initial
    snapshots: list[tuple[DocumentSnapshot, str]] = [(d.snapshot(), model)]
    for version, (sl, sc, el, ec, text, encoding) in enumerate(ops, start=2):
        a = reference_offset(model, sl, sc, encoding)
        b = reference_offset(model, el, ec, encoding)
        a, b = min(a, b), max(a, b)
        model = model[:a] + text + model[b:]
        d.apply_change((sl, sc), (el, ec), text, version, encoding)
        snap = d.snapshot()
        assert snap.text() == model
        # Lines must match a fresh split: no "\r\n" pair is ever left straddling two lines.
        assert list(snap.lines) == reference_lines(model)
        assert snap.version == version
        snapshots.append((snap, model))
    for snap, text in snapshots:
        assert snap.text() == text
