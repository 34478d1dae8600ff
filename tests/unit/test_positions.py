"""Tests for converting LSP character offsets to and from Python string indexes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lsp.engine.positions import PositionEncoding, char_index, lsp_character

UTF8 = PositionEncoding.UTF8
UTF16 = PositionEncoding.UTF16
UTF32 = PositionEncoding.UTF32
ALL = list(PositionEncoding)


def units(text: str, encoding: PositionEncoding) -> int:
    """Count code units the obvious way, by encoding (reference for the fast paths)."""
    if encoding is UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding is UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text)


def reference_char_index(line: str, character: int, encoding: PositionEncoding) -> int:
    """Walk the line one character at a time, rounding offsets inside a character down."""
    seen = 0
    for index, ch in enumerate(line):
        width = units(ch, encoding)
        if seen + width > character:
            return index
        seen += width
    return len(line)


def test_encoding_values_match_lsp() -> None:
    assert [e.value for e in PositionEncoding] == ["utf-8", "utf-16", "utf-32"]
    assert PositionEncoding("utf-16") is UTF16


@pytest.mark.parametrize("encoding", ALL)
def test_ascii_is_identity(encoding: PositionEncoding) -> None:
    line = "def f(x): return x"
    for i in range(len(line) + 1):
        assert char_index(line, i, encoding) == i
        assert lsp_character(line, i, encoding) == i


@pytest.mark.parametrize("encoding", ALL)
def test_clamping(encoding: PositionEncoding) -> None:
    assert char_index("a😀b", -5, encoding) == 0
    assert char_index("a😀b", 1000, encoding) == 3
    assert char_index("", 3, encoding) == 0
    assert lsp_character("a😀b", -2, encoding) == 0
    assert lsp_character("a😀b", 99, encoding) == units("a😀b", encoding)


def test_emoji_utf16() -> None:
    line = "a😀b"
    assert [char_index(line, c, UTF16) for c in range(6)] == [0, 1, 1, 2, 3, 3]
    assert [lsp_character(line, i, UTF16) for i in range(4)] == [0, 1, 3, 4]


def test_emoji_utf8() -> None:
    line = "a😀b"
    # 😀 is four bytes: offsets 2, 3 and 4 fall inside it and round down to its start.
    assert [char_index(line, c, UTF8) for c in range(8)] == [0, 1, 1, 1, 1, 2, 3, 3]
    assert [lsp_character(line, i, UTF8) for i in range(4)] == [0, 1, 5, 6]


def test_emoji_utf32() -> None:
    line = "a😀b"
    assert [char_index(line, c, UTF32) for c in range(5)] == [0, 1, 2, 3, 3]
    assert [lsp_character(line, i, UTF32) for i in range(4)] == [0, 1, 2, 3]


def test_bmp_non_ascii() -> None:
    line = "é中x"
    assert [lsp_character(line, i, UTF16) for i in range(4)] == [0, 1, 2, 3]
    assert [lsp_character(line, i, UTF8) for i in range(4)] == [0, 2, 5, 6]
    assert [char_index(line, c, UTF8) for c in range(7)] == [0, 0, 1, 1, 1, 2, 3]


def test_several_astral_characters_utf16() -> None:
    line = "😀😀x😀"
    assert [char_index(line, c, UTF16) for c in range(8)] == [0, 0, 1, 1, 2, 3, 3, 4]
    assert [lsp_character(line, i, UTF16) for i in range(5)] == [0, 2, 4, 5, 7]


def test_astral_after_offset_is_not_counted() -> None:
    assert char_index("ab😀", 2, UTF16) == 2
    assert lsp_character("ab😀", 2, UTF16) == 2


def test_combining_marks_and_skin_tones_count_per_code_point() -> None:
    line = "e\u0301👍🏽"  # e + combining acute, thumbs up + skin tone modifier
    assert lsp_character(line, 2, UTF16) == 2
    assert lsp_character(line, 4, UTF16) == 6
    assert lsp_character(line, 4, UTF8) == 3 + 8
    assert char_index(line, 4, UTF16) == 3


def test_lone_surrogates_do_not_raise() -> None:
    line = "a\ud83dz"  # JSON can decode to unpaired surrogates
    assert lsp_character(line, 2, UTF8) == 4
    assert char_index(line, 4, UTF8) == 2
    assert char_index(line, 2, UTF8) == 1
    assert lsp_character(line, 2, UTF16) == 2
    assert char_index(line, 2, UTF16) == 2


texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(["a", " ", "é", "中", "😀", "👍", "🏽", "\u0301", "\U0010ffff", "\uffff"]),
        st.characters(),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(line=texts, encoding=st.sampled_from(ALL))
def test_round_trip_on_boundaries(line: str, encoding: PositionEncoding) -> None:
    for index in range(len(line) + 1):
        character = lsp_character(line, index, encoding)
        assert character == units(line[:index], encoding)
        assert char_index(line, character, encoding) == index


@settings(max_examples=300, deadline=None)
@given(line=texts, encoding=st.sampled_from(ALL), data=st.data())
def test_char_index_matches_reference(line: str, encoding: PositionEncoding, data: st.DataObject) -> None:
    total = units(line, encoding)
    character = data.draw(st.integers(min_value=-2, max_value=total + 3))
    index = char_index(line, character, encoding)
    assert index == reference_char_index(line, max(character, 0), encoding)
    # Rounding down: the boundary found never lies past the requested offset.
    assert lsp_character(line, index, encoding) <= max(character, 0)
