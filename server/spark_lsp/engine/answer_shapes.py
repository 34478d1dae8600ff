"""Turn a model's answer, whatever its shape (fences, tags, special tokens, echoes), into insertion text."""

from __future__ import annotations

import re

from spark_lsp.engine.filters import CompletionContext
from spark_lsp.engine.prompt import ESCAPE_MARK, HOLE_MARKER

# Any `<|name|>` token or its DeepSeek full-width-bar (U+FF5C) variant, plus the bare-word tokens of
# StarCoder, CodeLlama and Gemma. The prompt builder escapes such text in user code, so a real
# occurrence here is model debris.
_SPECIAL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_▁.\-]{1,40}\|>"
    r"|<\uff5c[^\uff5c<>\s]{1,40}\uff5c>"
    r"|<(?:fim_(?:prefix|suffix|middle|pad)|file_sep|repo_name|EOT|end_of_turn|start_of_turn)>"
)
_LEADING_SPECIAL_TOKENS = re.compile(rf"(?:{_SPECIAL_TOKEN.pattern})+")
# Wrappers the prompt may ask for or a model may invent.
_WRAPPER_TAGS = ("COMPLETION", "FILL", "answer", "MID", "code")
_OPENING_TAG = re.compile(r"\s*<(" + "|".join(_WRAPPER_TAGS) + r")>", re.IGNORECASE)
_STRAY_CLOSING_TAG = re.compile(r"</(COMPLETION|FILL|answer|code)>", re.IGNORECASE)
# Ordinary words that name real elements in HTML, XML and Javadoc: wrappers only outside markup.
_MARKUP_ELEMENT_TAGS = frozenset({"code", "answer"})
_MARKUP_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_OPENING_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*([^`\s]*)[^`\n]*")
# Only assistant phrasing: "Output:" or "Result:" before a fence is ordinary Markdown content.
_PREAMBLE = re.compile(
    r"\s*(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|below is"
    r"|the (?:completion|completed|missing)|completion)"
    r"\b[^\n]{0,120}:[ \t]*",
    re.IGNORECASE,
)
# Fewer repeated non-space characters than this may be a real repeat: `foo(a, ` + `a, b)`.
_MIN_OVERLAP_CHARS = 3


def normalize_newlines(text: str) -> str:
    """Read "\\r\\n" and a lone "\\r" as "\\n"; everything downstream works on "\\n"."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def cut_at_special_tokens(text: str) -> str:
    """Drop special tokens the model echoed at the start, then cut at the first one after that."""
    match = _LEADING_SPECIAL_TOKENS.match(text)
    if match:
        text = text[match.end() :]
    found = _SPECIAL_TOKEN.search(text)
    return text[: found.start()] if found else text


def unescape_special_text(text: str) -> str:
    """Undo the prompt builder's U+200C escapes (after `<`, in the hole marker) if the model echoes them."""
    escaped_marker = HOLE_MARKER[0] + ESCAPE_MARK + HOLE_MARKER[1:]
    return text.replace("<" + ESCAPE_MARK, "<").replace(escaped_marker, HOLE_MARKER)


def _split_preamble(text: str) -> tuple[bool, str]:
    """Whether text starts with a prose line like "Here is the completion:", and the text after it."""
    match = _PREAMBLE.match(text)
    if match and text[match.end() : match.end() + 1] in ("\n", ""):
        return True, text[match.end() :].lstrip("\n")
    return False, text


def _context_text(ctx: CompletionContext) -> str:
    """The document text around the cursor as one string."""
    return "\n".join([*ctx.lines_above, ctx.line_prefix + ctx.line_suffix, *ctx.lines_below])


def _tag_is_content(name: str, ctx: CompletionContext) -> bool:
    """Whether the document itself uses this tag, so the model's tag may be real code."""
    context = _context_text(ctx)
    if re.search(rf"</?{re.escape(name)}\b", context, re.IGNORECASE):
        return True
    return name.lower() in _MARKUP_ELEMENT_TAGS and _MARKUP_TAG.search(context) is not None


def _trim_tag_newlines(inner: str, closed_on_own_line: bool, ctx: CompletionContext) -> str:
    """Drop the newlines around a tag's content when they are layout, not line breaks to insert."""
    if closed_on_own_line:
        inner = inner[:-1]
    if not inner.startswith("\n"):
        return inner
    body = inner[1:]
    # An indented line after the tag is a whole new line (`return {` + body); an unindented one
    # continues the cursor line. On a blank cursor line a leading newline can only be layout.
    starts_new_line = ctx.line_prefix.strip() != "" and body[:1].isspace()
    return inner if starts_new_line else body


def strip_wrapper_tags(text: str, ctx: CompletionContext) -> str:
    """Unwrap `<COMPLETION>…</COMPLETION>` and similar tags (also unterminated, or after a preamble)."""
    had_preamble, body = _split_preamble(text)
    match = _OPENING_TAG.match(body)
    if match is None:
        return _cut_at_stray_closing_tag(text, ctx)
    name = match.group(1)
    if not had_preamble and _tag_is_content(name, ctx):
        return text
    inner = body[match.end() :]
    closing = re.search(rf"</{name}>", inner, re.IGNORECASE)
    if closing is None:
        # An unterminated `<code>` is as likely HTML being written as a wrapper cut short.
        if name.lower() == "code" and not had_preamble:
            return text
        return _trim_tag_newlines(inner, False, ctx)
    if name.lower() == "code" and not had_preamble and inner[closing.end() :].strip():
        return text
    content = inner[: closing.start()]
    return _trim_tag_newlines(content, content.endswith("\n"), ctx)


def _cut_at_stray_closing_tag(text: str, ctx: CompletionContext) -> str:
    """Cut at a closing wrapper tag with no opening one (the prompt itself opened the wrapper)."""
    for match in _STRAY_CLOSING_TAG.finditer(text):
        if not _tag_is_content(match.group(1), ctx):
            return text[: match.start()]
    return text


def _fence_match(line: str) -> re.Match[str] | None:
    """The fence marker and info string if the whole line is a code-fence line."""
    return _OPENING_FENCE.fullmatch(line)


def _is_closing_fence(line: str, marker: str) -> bool:
    """Whether a line closes a fence opened with `marker` (same character, at least as long, no info)."""
    stripped = line.strip()
    return len(stripped) >= len(marker) and stripped == marker[0] * len(stripped)


def _count_fence_lines(lines: tuple[str, ...]) -> int:
    """How many lines are code-fence lines."""
    return sum(1 for line in lines if _fence_match(line))


def _inside_backtick_string(ctx: CompletionContext) -> bool:
    """Whether an odd number of backticks precede the cursor (a template literal or inline code)."""
    before = [line for line in ctx.lines_above if not _fence_match(line)]
    return sum(line.count("`") for line in [*before, ctx.line_prefix]) % 2 == 1


def _fence_is_content(info: str, ctx: CompletionContext) -> bool:
    """Whether a fence at the start of the answer may be code the user is writing (Markdown, docs)."""
    if any(marker in ctx.line_prefix + ctx.line_suffix for marker in ("```", "~~~")):
        return True
    fences_above = _count_fence_lines(ctx.lines_above)
    if fences_above % 2 == 1:
        # Inside the document's own fenced block, a bare fence closes it; one with an info string
        # can't (CommonMark), so that one is the model wrapping its answer.
        return not info
    if fences_above or _count_fence_lines(ctx.lines_below):
        return True
    return _inside_backtick_string(ctx)


def _start_of_content(lines: list[str]) -> int:
    """The index of the first non-blank line (len(lines) if none)."""
    return next((index for index, line in enumerate(lines) if line.strip()), len(lines))


def strip_code_fence(text: str, ctx: CompletionContext) -> str:
    """Unwrap a Markdown fence (```lang or ~~~) at the answer's start, closed or cut short by the stream."""
    had_preamble, body = _split_preamble(text)
    lines = body.split("\n")
    start = _start_of_content(lines)
    match = _fence_match(lines[start]) if start < len(lines) else None
    if match is None:
        return text
    marker, info = match.group(1), match.group(2)
    if not had_preamble and _fence_is_content(info, ctx):
        return text
    rest = lines[start + 1 :]
    end = next((index for index, line in enumerate(rest) if _is_closing_fence(line, marker)), len(rest))
    return "\n".join(rest[:end])


def strip_trailing_fence(text: str, ctx: CompletionContext) -> str:
    """Cut a lone closing fence at the end (the prompt opened the fence, the model closed it)."""
    lines = text.split("\n")
    fences = [index for index, line in enumerate(lines) if _fence_match(line)]
    if len(fences) != 1 or any(line.strip() for line in lines[fences[0] + 1 :]):
        return text
    fence = lines[fences[0]]
    if not _is_closing_fence(fence, fence.strip()[:3]) or _fence_is_content("", ctx):
        return text
    return "\n".join(lines[: fences[0]])


def unwrap(text: str, ctx: CompletionContext) -> str:
    """Remove wrapper tags and fences in either nesting order."""
    text = strip_wrapper_tags(text, ctx)
    fenced = strip_code_fence(text, ctx)
    if fenced != text:
        return strip_wrapper_tags(fenced, ctx)
    return strip_trailing_fence(text, ctx)


def _non_space_count(text: str) -> int:
    """How many non-whitespace characters text has."""
    return sum(1 for ch in text if not ch.isspace())


def _is_deliberate_repeat(overlap: str, with_separator: bool) -> bool:
    """Whether re-writing the whole line prefix is an echo rather than a continuation of it.

    `x` + `x = 1`, `//` + `// note` and `- ` + `- item` are echoes; a lone symbol continues:
    `/` + `/ note` is `//`. `with_separator`: the repeat includes the whitespace typed after it.
    """
    if with_separator or any(ch.isalnum() or ch == "_" for ch in overlap):
        return True
    return _non_space_count(overlap) >= 2


def _rest_after_prefix(line: str, prefix: str, echo_proven: bool) -> str | None:
    """What the answer's line adds to the cursor line, if that line starts by re-writing the prefix.

    `echo_proven`: the answer already repeated the lines above, so a short prefix match is an echo too.
    """
    if not prefix.strip():
        # The cursor's indentation is already typed; keep only indentation beyond it.
        return line[len(prefix) :] if line.startswith(prefix) else line.lstrip(" \t")
    if line.startswith(prefix):
        rest = line[len(prefix) :]
        typed_separator = prefix[-1:].isspace()
        return rest if echo_proven or _is_deliberate_repeat(prefix, typed_separator) else None
    # The model re-wrote the line with different indentation or spacing around the cursor.
    core = prefix.strip()
    body = line.lstrip(" \t")
    if not body.startswith(core):
        return None
    rest = body[len(core) :]
    typed_space = len(prefix) - len(prefix.rstrip())
    rest_space = len(rest) - len(rest.lstrip(" \t"))
    if not echo_proven and not _is_deliberate_repeat(core, typed_space > 0 and rest_space > 0):
        return None
    return rest[min(typed_space, rest_space) :]


def _strip_repeated_lines(text: str, ctx: CompletionContext) -> str | None:
    """The answer without a re-write of the last lines above and the line prefix, if it starts with one."""
    lines = text.split("\n")
    above = ctx.lines_above
    prefix_is_blank = not ctx.line_prefix.strip()
    for count in range(len(above), -1, -1):
        if count == 0 and prefix_is_blank:
            break
        repeated = above[len(above) - count :]
        if len(lines) < count or any(lines[i].strip() != repeated[i].strip() for i in range(count)):
            continue
        if count > 0 and _non_space_count("".join(repeated) + ctx.line_prefix) < _MIN_OVERLAP_CHARS:
            continue
        if len(lines) == count:
            # Nothing but a copy of the lines above: on a blank cursor line that adds nothing.
            if prefix_is_blank:
                return ""
            continue
        rest = _rest_after_prefix(lines[count], ctx.line_prefix, count > 0)
        if rest is not None:
            return "\n".join([rest, *lines[count + 1 :]])
    return None


def _strip_repeated_tail(text: str, prefix: str) -> str | None:
    """The answer without a re-write of the end of the line prefix (`return get_` + `get_value()`).

    A short overlap counts only when it is the identifier being typed (`x = se` + `self.y`): digits
    continue (`port = 80` + `80` is 8080) and a lone symbol or `a, ` may be a real repeat.
    """
    first = text.split("\n", 1)[0]
    for size in range(min(len(prefix), len(first)), 0, -1):
        overlap = first[:size]
        if not prefix.endswith(overlap):
            continue
        if _non_space_count(overlap) < _MIN_OVERLAP_CHARS and not overlap.isidentifier():
            continue
        before = prefix[-size - 1 : -size] if size < len(prefix) else ""
        # `x = subtotal` + `total`: the overlap must start a token in the prefix, not end one.
        if (before.isalnum() or before == "_") and (overlap[0].isalnum() or overlap[0] == "_"):
            continue
        return text[size:]
    return None


def remove_prefix_overlap(text: str, ctx: CompletionContext) -> str:
    """Remove the start of the answer that repeats what is already before the cursor."""
    stripped = _strip_repeated_lines(text, ctx)
    if stripped is not None:
        return stripped
    stripped = _strip_repeated_tail(text, ctx.line_prefix)
    return text if stripped is None else stripped


def normalize_answer(raw: str, ctx: CompletionContext) -> str:
    """The text to insert at the cursor, from a model answer of any shape; lines are "\\n"-separated."""
    text = normalize_newlines(raw)
    text = cut_at_special_tokens(text)
    text = unwrap(text, ctx)
    # Unescape only now: escaped token text is the user's code and must survive the cuts above.
    text = unescape_special_text(text)
    return remove_prefix_overlap(text, ctx)
