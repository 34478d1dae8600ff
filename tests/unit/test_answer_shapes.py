"""Tests for turning model answers of any shape into the raw text to insert at the cursor."""

from __future__ import annotations

import pytest

from spark_lsp.engine.answer_shapes import (
    cut_at_special_tokens,
    normalize_answer,
    normalize_newlines,
    remove_prefix_overlap,
    strip_code_fence,
    strip_trailing_fence,
    strip_wrapper_tags,
    unescape_special_text,
    unwrap,
)
from spark_lsp.engine.filters import CompletionContext

ZWNJ = "\u200c"
BAR = "\uff5c"  # DeepSeek's full-width vertical bar
DEEPSEEK_EOS = f"<{BAR}end\u2581of\u2581sentence{BAR}>"


def make_ctx(
    prefix: str = "",
    suffix: str = "",
    above: tuple[str, ...] = (),
    below: tuple[str, ...] = (),
    multiline: bool = True,
    indent_unit: str = "    ",
    eol: str = "\n",
) -> CompletionContext:
    """A context with defaults for everything a test doesn't care about."""
    return CompletionContext(prefix, suffix, above, below, multiline, indent_unit, eol)


PLAIN = make_ctx(prefix="x = ", above=("import os",))


# --- newlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb\r\n", "a\nb\n"),
        ("a\rb", "a\nb"),
        ("a\nb", "a\nb"),
        ("\r\n", "\n"),
        ("", ""),
    ],
)
def test_normalize_newlines(raw: str, expected: str) -> None:
    assert normalize_newlines(raw) == expected


# --- special tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("foo()<|endoftext|>", "foo()"),
        ("foo()\n<|endoftext|>garbage", "foo()\n"),
        ("a<|fim_middle|>b", "a"),
        ("a<|file_separator|>b.py\nimport os", "a"),
        ("a<|im_end|>", "a"),
        ("a" + DEEPSEEK_EOS, "a"),
        ("a<EOT>", "a"),
        ("a<fim_prefix>b", "a"),
        ("a<file_sep>", "a"),
        ("<|fim_middle|>foo()<|endoftext|>", "foo()"),
        ("<|fim_middle|><|fim_middle|>foo()", "foo()"),
        ("no tokens here", "no tokens here"),
        ("x = a < b | c > d", "x = a < b | c > d"),
        ("html <s>strike</s> and <PRE>", "html <s>strike</s> and <PRE>"),
        ("elm pipe x <| f", "elm pipe x <| f"),
    ],
)
def test_cut_at_special_tokens(raw: str, expected: str) -> None:
    assert cut_at_special_tokens(raw) == expected


def test_escaped_special_token_text_survives_cutting() -> None:
    # User code containing token text reaches the model escaped; the echo must not be cut.
    raw = f'tokens = ["<{ZWNJ}|endoftext|>"]'
    assert cut_at_special_tokens(raw) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f'eos = "<{ZWNJ}|endoftext|>"', 'eos = "<|endoftext|>"'),
        (f"<{ZWNJ}EOT> and <{ZWNJ}{BAR}x{BAR}>", f"<EOT> and <{BAR}x{BAR}>"),
        ("{\u200c{FILL_HERE}}", "{{FILL_HERE}}"),
        (f"a {ZWNJ} b", f"a {ZWNJ} b"),
        ("plain", "plain"),
    ],
)
def test_unescape_special_text(raw: str, expected: str) -> None:
    assert unescape_special_text(raw) == expected


# --- wrapper tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<COMPLETION>foo(a)</COMPLETION>", "foo(a)"),
        ("<completion>foo(a)</completion>", "foo(a)"),
        ("<FILL>a, b</FILL>", "a, b"),
        ("<answer>42</answer>", "42"),
        ("<code>x + 1</code>", "x + 1"),
        ("<COMPLETION>\nreturn x\n</COMPLETION>", "return x"),
        ("<COMPLETION>foo()\n</COMPLETION>", "foo()"),
        ("<COMPLETION>foo(a)</COMPLETION>\nThis calls foo.", "foo(a)"),
        ("  <COMPLETION>foo</COMPLETION>", "foo"),
        ("<COMPLETION>foo(a, b", "foo(a, b"),
        ("<MID>foo(a)", "foo(a)"),
        ("Here is the completion:\n<COMPLETION>foo</COMPLETION>", "foo"),
        ("Sure! Here's the code:\n\n<code>bar()</code>", "bar()"),
        ("foo(a)</COMPLETION>", "foo(a)"),
        ("foo(a)</FILL> trailing", "foo(a)"),
        ("foo(a)", "foo(a)"),
        ("Here is the completion:\nfoo(a)", "Here is the completion:\nfoo(a)"),
    ],
)
def test_strip_wrapper_tags(raw: str, expected: str) -> None:
    assert strip_wrapper_tags(raw, PLAIN) == expected


def test_leading_newline_in_tag_is_content_when_cursor_ends_a_statement() -> None:
    ctx = make_ctx(prefix="def f(x):")
    assert strip_wrapper_tags("<COMPLETION>\n    return x</COMPLETION>", ctx) == "\n    return x"


def test_leading_newline_in_tag_is_content_before_an_indented_body() -> None:
    ctx = make_ctx(prefix="  return {", indent_unit="  ")
    raw = "<COMPLETION>\n    a: 1,\n  };\n</COMPLETION>"
    assert strip_wrapper_tags(raw, ctx) == "\n    a: 1,\n  };"


@pytest.mark.parametrize(
    "raw",
    [
        "<COMPLETION>\nreturn x",
        "<COMPLETION>\nreturn x\n</COMPLETION>",
        "<COMPLETION>\n    return x\n</COMPLETION>",
    ],
)
def test_leading_newline_in_tag_is_layout_on_a_blank_cursor_line(raw: str) -> None:
    ctx = make_ctx(prefix="    ")
    assert strip_wrapper_tags(raw, ctx).lstrip(" ") == "return x"


@pytest.mark.parametrize(
    ("raw", "ctx"),
    [
        # Writing HTML: `<code>` is content.
        ("<code>x</code> to do it.</p>", make_ctx(prefix="<p>Use ")),
        ("<code>x</code>", make_ctx(prefix="  ", above=("<div>",))),
        ("<code>\nfoo", make_ctx(prefix="")),
        ("<code>x</code> and more", PLAIN),
        # The document itself uses the tag.
        ("<answer>42</answer>", make_ctx(above=("<quiz>", "  <question>6*7?</question>"), prefix="  ")),
        ("x</COMPLETION>", make_ctx(above=("<COMPLETION>",))),
    ],
)
def test_tags_that_are_document_content_are_kept(raw: str, ctx: CompletionContext) -> None:
    assert strip_wrapper_tags(raw, ctx) == raw


def test_code_tag_after_preamble_is_a_wrapper_even_in_html() -> None:
    ctx = make_ctx(prefix="<p>Use ")
    assert strip_wrapper_tags("Here is the completion:\n<code>x</code>", ctx) == "x"


# --- code fences --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("```python\nreturn x\n```", "return x"),
        ("```\nreturn x\n```", "return x"),
        ("~~~js\nfoo();\n~~~", "foo();"),
        ("```python\nreturn x\n```\nThis returns x.", "return x"),
        ("\n\n```py\na\nb\n```", "a\nb"),
        ("```python\nreturn x", "return x"),
        ("```python\nreturn x\n", "return x\n"),
        ("```python", ""),
        ("  ```python\n    return x\n  ```", "    return x"),
        ("````md\n```py\nx\n```\n````", "```py\nx\n```"),
        ("~~~\n```\n~~~", "```"),
        ("Here is the completion:\n```python\nreturn x\n```", "return x"),
        ("Sure, here's the code:\n\n```\nfoo()\n```", "foo()"),
        ("The completion is:\n~~~\nfoo()", "foo()"),
        ("return x", "return x"),
        ("x = 1  # see ```docs```", "x = 1  # see ```docs```"),
        ("return x\n```", "return x\n```"),
        ("Here is the completion:\nreturn x", "Here is the completion:\nreturn x"),
        ("Note: this matters\n```python\nx\n```", "Note: this matters\n```python\nx\n```"),
        ("Output:\n```\n$ ls\n```", "Output:\n```\n$ ls\n```"),
        ("Completion:\n```\nfoo()\n```", "foo()"),
    ],
)
def test_strip_code_fence(raw: str, expected: str) -> None:
    assert strip_code_fence(raw, PLAIN) == expected


@pytest.mark.parametrize(
    "ctx",
    [
        # A Markdown document that uses fences: a fenced answer may be what the user is writing.
        make_ctx(above=("# Usage", "", "```sh", "pip install spark", "```", ""), prefix=""),
        make_ctx(above=("# Usage",), below=("```",), prefix=""),
        # The user typed the fence opener.
        make_ctx(prefix="```"),
        # Inside a JS template literal.
        make_ctx(above=("const md = `",), prefix=""),
    ],
)
def test_fences_that_are_document_content_are_kept(ctx: CompletionContext) -> None:
    raw = "```python\nprint(1)\n```"
    assert strip_code_fence(raw, ctx) == raw


def test_fence_with_info_inside_an_open_document_block_is_a_wrapper() -> None:
    ctx = make_ctx(above=("Example:", "", "```python", "x = 1"), prefix="")
    assert strip_code_fence("```python\ny = 2\n```", ctx) == "y = 2"


def test_bare_fence_inside_an_open_document_block_closes_it() -> None:
    ctx = make_ctx(above=("```python", "x = 1"), prefix="")
    assert strip_code_fence("```\n\nMore text.", ctx) == "```\n\nMore text."


def test_fence_after_preamble_is_stripped_even_in_markdown() -> None:
    ctx = make_ctx(above=("```sh", "ls", "```"), prefix="")
    assert strip_code_fence("Here is the completion:\n```md\n# Title\n```", ctx) == "# Title"


@pytest.mark.parametrize(
    ("raw", "ctx", "expected"),
    [
        ("return x\n```", PLAIN, "return x"),
        ("return x\n```\n\n", PLAIN, "return x"),
        ("return x\n```python", PLAIN, "return x\n```python"),
        ("a\n```\nb", PLAIN, "a\n```\nb"),
        ("```\nx\n```", PLAIN, "```\nx\n```"),
        ("text\n```", make_ctx(above=("```python", "x = 1")), "text\n```"),
    ],
)
def test_strip_trailing_fence(raw: str, ctx: CompletionContext, expected: str) -> None:
    assert strip_trailing_fence(raw, ctx) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<COMPLETION>\n```python\nreturn x\n```\n</COMPLETION>", "return x"),
        ("```\n<COMPLETION>return x</COMPLETION>\n```", "return x"),
        ("return x\n```", "return x"),
        ("return x", "return x"),
    ],
)
def test_unwrap_handles_nesting(raw: str, expected: str) -> None:
    assert unwrap(raw, PLAIN) == expected


# --- echoes of the text before the cursor -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        # The whole cursor line re-written, with its indentation.
        ("    return x + 1", make_ctx(prefix="    return "), "x + 1"),
        # ...without its indentation, or with different indentation.
        ("return x + 1", make_ctx(prefix="    return "), "x + 1"),
        ("  return x + 1", make_ctx(prefix="        return "), "x + 1"),
        # ...with the typed trailing space not repeated exactly.
        ("x = 1", make_ctx(prefix="x = "), "1"),
        ("x =  1", make_ctx(prefix="x = "), " 1"),
        # Previous lines plus the current line prefix.
        (
            "def add(a, b):\n    return a + b",
            make_ctx(above=("def add(a, b):",), prefix="    return "),
            "a + b",
        ),
        (
            "import os\n\ndef f():\n    return os.getcwd()",
            make_ctx(above=("import os", "", "def f():"), prefix="    return "),
            "os.getcwd()",
        ),
        # Previous lines re-indented by the model.
        ("def f(x):\n  return x", make_ctx(above=("def f(x):",), prefix="    return "), "x"),
        # A blank cursor line after an echo of the line above: the cursor's indentation is typed.
        ("def f(x):\n    return x", make_ctx(above=("def f(x):",), prefix="    "), "return x"),
        ("if x:\n        y()", make_ctx(above=("    if x:",), prefix="    "), "    y()"),
        ("def f(x):\n    return x", make_ctx(above=("def f(x):",), prefix=""), "    return x"),
        # An answer that only copies the line above onto a blank line adds nothing.
        ("foo(bar)", make_ctx(above=("foo(bar)",), prefix="    "), ""),
        ("foo(bar)\n", make_ctx(above=("foo(bar)",), prefix=""), ""),
        # The end of the line prefix repeated.
        ("get_value()", make_ctx(prefix="    return get_"), "value()"),
        ("self.c = c", make_ctx(prefix="        self."), "c = c"),
        ("items[0]", make_ctx(prefix="value = items"), "[0]"),
        ("// comment", make_ctx(prefix="    //"), " comment"),
        ("- second", make_ctx(prefix="- "), "second"),
        ("- second", make_ctx(prefix="  - "), "second"),
        ("# Title", make_ctx(prefix="# "), "Title"),
        ("x = 1", make_ctx(prefix="x"), " = 1"),
        # A short overlap that is the identifier being typed.
        ("in range(3):", make_ctx(prefix="    for x i"), "n range(3):"),
        ("self.y", make_ctx(prefix="x = se"), "lf.y"),
        ("a + b", make_ctx(prefix="    return a"), " + b"),
        ("值 = 1", make_ctx(prefix="    值"), " = 1"),
        ("naïve_total(x)", make_ctx(prefix="    return naïve_"), "total(x)"),
    ],
)
def test_remove_prefix_overlap_strips_echoes(text: str, ctx: CompletionContext, expected: str) -> None:
    assert remove_prefix_overlap(text, ctx) == expected


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # A legitimate answer starting with the same identifier as the line: `x = x + 1`.
        ("x + 1", make_ctx(prefix="x = ")),
        ("x + 1", make_ctx(prefix="    x = ")),
        ("self.b = b", make_ctx(above=("        self.a = a",), prefix="        ")),
        # A single common token is a coincidence, not an echo.
        ("x, y)", make_ctx(prefix="point(x, ")),
        ("a, b)", make_ctx(prefix="foo(a, ")),
        # A single symbol continues: `/` + `/ comment` is `// comment`, `#` + `# Sub` is `## Sub`.
        ("/ comment", make_ctx(prefix="/")),
        ("# Sub", make_ctx(prefix="#")),
        ("- item", make_ctx(prefix="  -")),
        # Digits continue a number: `port = 80` + `80` is 8080.
        ("80", make_ctx(prefix="port = 80")),
        # The overlap would end a token of the prefix rather than start one.
        ("s Foo:", make_ctx(prefix="clas")),
        ("total + 1", make_ctx(prefix="x = subtotal")),
        # A trivial line above (`}`) repeated is not proof of an echo.
        ("}\nfoo()", make_ctx(above=("}",), prefix="")),
        # Whitespace-only cursor line with no echo above: indentation is normalize_indentation's job.
        ("    return x", make_ctx(above=("def f(x):",), prefix="    ")),
        # Plain, unrelated answers.
        ("return x", make_ctx(prefix="    ")),
        ("foo()", make_ctx()),
        ("", make_ctx(prefix="x = ")),
    ],
)
def test_remove_prefix_overlap_keeps_legitimate_starts(text: str, ctx: CompletionContext) -> None:
    assert remove_prefix_overlap(text, ctx) == text


# --- the whole normaliser -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ctx", "expected"),
    [
        # Already raw: accepted unchanged even though the prompt asked for a wrapper.
        ("a, b)", make_ctx(prefix="foo("), "a, b)"),
        ("\n    return x", make_ctx(prefix="def f(x):"), "\n    return x"),
        # CRLF from the model.
        ("```python\r\n    return x\r\n```\r\n", make_ctx(prefix="def f(x):"), "    return x"),
        ("a\r\nb", make_ctx(prefix=""), "a\nb"),
        # Fence plus echo of the line.
        ("```python\ndef f(x):\n    return x\n```", make_ctx(prefix="def f(x):"), "\n    return x"),
        # Tag, token debris and echo together.
        ("<COMPLETION>x = compute()</COMPLETION><|endoftext|>", make_ctx(prefix="x = "), "compute()"),
        ("<|fim_middle|>value()<|endoftext|>", make_ctx(prefix="return get_"), "value()"),
        # The model echoed escaped token text from the user's code: unescaped, and not cut.
        (f'"<{ZWNJ}|endoftext|>")', make_ctx(prefix="    tokens.append("), '"<|endoftext|>")'),
        (f"<{ZWNJ}EOT>", make_ctx(prefix="marker = '"), "<EOT>"),
        # Cut stream inside an opening fence.
        ("```py", make_ctx(prefix="x = "), ""),
        ("Here is the completion:\n```python\nfoo()", make_ctx(prefix=""), "foo()"),
        # Markdown document: the fence is content.
        ("```python\nprint(1)\n```", make_ctx(above=("## Install", "```sh", "pip x", "```", "")), None),
        # Unicode survives intact.
        ("<COMPLETION>'héllo wörld ✓'</COMPLETION>", make_ctx(prefix="s = "), "'héllo wörld ✓'"),
        ("", make_ctx(), ""),
    ],
)
def test_normalize_answer(raw: str, ctx: CompletionContext, expected: str | None) -> None:
    assert normalize_answer(raw, ctx) == (raw if expected is None else expected)


def test_normalize_answer_on_a_partial_stream_is_stable() -> None:
    # The early-stop logic normalises partial streams; every prefix of a fenced answer must work.
    ctx = make_ctx(prefix="def f(x):", below=("", "def g():"))
    raw = "```python\ndef f(x):\n    y = x * 2\n    return y\n```"
    for end in range(len(raw) + 1):
        text = normalize_answer(raw[:end], ctx)
        assert "```" not in text
    assert normalize_answer(raw, ctx) == "\n    y = x * 2\n    return y"
