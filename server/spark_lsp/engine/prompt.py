"""Prompt assembly: token-budgeted, cache-friendly prefix/suffix windows, and FIM or chat framing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from spark_lsp.engine.tokens import LineTokenCounter

# Windows start on absolute multiples of this many lines, so that the start of the prompt stays
# byte-identical while the user types and the provider's prefix cache (128-token blocks) keeps hitting.
ANCHOR_LINES = 16
# A line longer than this many tokens is cut rather than dropping all context (minified code).
_CHARS_PER_TOKEN_FLOOR = 2
ESCAPE_MARK = "\u200c"
HOLE_MARKER = "{{FILL_HERE}}"


@dataclass(frozen=True, slots=True)
class FimTemplate:
    """A model family's fill-in-the-middle framing and the tokens that end its answer."""

    name: str
    prefix_token: str
    suffix_token: str
    middle_token: str
    layout: str
    stop: tuple[str, ...]

    def render(self, prefix: str, suffix: str) -> str:
        """The raw prompt for `/v1/completions`."""
        return self.layout.format(
            pre=self.prefix_token, suf=self.suffix_token, mid=self.middle_token, prefix=prefix, suffix=suffix
        )

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every token string user code must not be able to inject."""
        return (self.prefix_token, self.suffix_token, self.middle_token, *self.stop)


FIM_TEMPLATES: dict[str, FimTemplate] = {
    "qwen": FimTemplate(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        "{pre}{prefix}{suf}{suffix}{mid}",
        ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>"),
    ),
    "starcoder": FimTemplate(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        "{pre}{prefix}{suf}{suffix}{mid}",
        ("<|endoftext|>", "<file_sep>", "<fim_prefix>"),
    ),
    "codellama": FimTemplate(
        "codellama", "<PRE>", "<SUF>", "<MID>", "{pre} {prefix} {suf}{suffix} {mid}", ("<EOT>",)
    ),
    "deepseek": FimTemplate(
        "deepseek",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
        "{pre}{prefix}{suf}{suffix}{mid}",
        ("<｜end▁of▁sentence｜>",),
    ),
}

_FIM_FAMILIES = (
    (re.compile(r"deepseek.*coder", re.I), "deepseek"),
    (re.compile(r"code-?llama", re.I), "codellama"),
    (re.compile(r"starcoder|santacoder", re.I), "starcoder"),
    (re.compile(r"qwen.*coder|coder", re.I), "qwen"),
)

# Generic chat/special-token shapes (`<|im_start|>`, `<｜end▁of▁sentence｜>`) that a provider's
# tokenizer may treat as control tokens if they reach it verbatim.
_GENERIC_SPECIAL = r"\|[A-Za-z0-9_▁.\-]{1,40}\|>|｜[^｜<>\s]{1,40}｜>"


def guess_fim_template(model: str) -> str | None:
    """The FIM template a model's name suggests, or None for models best prompted by chat."""
    for pattern, template in _FIM_FAMILIES:
        if pattern.search(model):
            return template
    return None


def _escape_pattern(tokens: Sequence[str]) -> re.Pattern[str]:
    tails = sorted({re.escape(token[1:]) for token in tokens if token.startswith("<")}, key=len, reverse=True)
    return re.compile("<(?=" + "|".join([*tails, _GENERIC_SPECIAL]) + ")")


_ESCAPERS: dict[tuple[str, ...], re.Pattern[str]] = {}


def escape_special_text(text: str, tokens: Sequence[str]) -> str:
    """Break special-token text in user code (insert U+200C after `<`) so it cannot end the prompt frame.

    The answer normaliser removes the same mark if the model echoes it.
    """
    if "<" not in text:
        return text
    key = tuple(tokens)
    pattern = _ESCAPERS.get(key)
    if pattern is None:
        pattern = _ESCAPERS[key] = _escape_pattern(tokens)
    return pattern.sub("<" + ESCAPE_MARK, text)


def escape_hole_marker(text: str) -> str:
    """Keep user text that happens to contain the hole marker from being read as the hole."""
    return text.replace(HOLE_MARKER, "{" + ESCAPE_MARK + "{FILL_HERE}}")


@dataclass(frozen=True, slots=True)
class Window:
    """The text around the cursor that goes into a prompt."""

    prefix: str
    suffix: str
    start_line: int
    end_line: int
    prefix_tokens: int
    suffix_tokens: int


def _cut_tail(text: str, tokens: int) -> str:
    """The last part of an over-long line, bounded conservatively by characters."""
    return text[-tokens * _CHARS_PER_TOKEN_FLOOR :] if tokens > 0 else ""


def _cut_head(text: str, tokens: int) -> str:
    return text[: tokens * _CHARS_PER_TOKEN_FLOOR] if tokens > 0 else ""


def _prefix_start(lines: Sequence[str], line: int, budget: int, counter: LineTokenCounter) -> tuple[int, int]:
    """The earliest anchored line whose window to the cursor line fits `budget`; and its tokens."""
    boundary = line - line % ANCHOR_LINES
    used = counter.lines(lines[boundary:line])
    if used > budget:
        # Even the cursor's own block is too big (very long lines): fall back to whole lines.
        start, used = line, 0
        while start > 0:
            cost = counter.line(lines[start - 1])
            if used + cost > budget:
                break
            start -= 1
            used += cost
        return start, used
    start = boundary
    while start > 0:
        block_start = max(0, start - ANCHOR_LINES)
        cost = counter.lines(lines[block_start:start])
        if used + cost > budget:
            break
        start, used = block_start, used + cost
    return start, used


def build_window(
    lines: Sequence[str],
    line: int,
    index: int,
    counter: LineTokenCounter,
    prefix_budget: int,
    suffix_budget: int,
) -> Window:
    """Prefix and suffix around (line, index) within token budgets; `lines` keep their terminators."""
    current = lines[line]
    before, after = current[:index], current[index:]
    before_tokens = counter.line(before)
    if before_tokens >= prefix_budget:
        before = _cut_tail(before, prefix_budget)
        start, above_tokens, above = line, 0, ""
    else:
        start, above_tokens = _prefix_start(lines, line, prefix_budget - before_tokens, counter)
        above = "".join(lines[start:line])
    prefix = without_lone_surrogates(above + before)

    after_tokens = counter.line(after)
    below_parts: list[str] = []
    end = line + 1
    if after_tokens >= suffix_budget:
        after = _cut_head(after, suffix_budget)
        after_tokens = suffix_budget
    else:
        remaining = suffix_budget - after_tokens
        while end < len(lines):
            cost = counter.line(lines[end])
            if cost > remaining:
                break
            below_parts.append(lines[end])
            remaining -= cost
            end += 1
        after_tokens = suffix_budget - remaining
    suffix = without_lone_surrogates(after + "".join(below_parts))
    return Window(prefix, suffix, start, end, above_tokens + before_tokens, after_tokens)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """Replace unpaired UTF-16 surrogates (JSON allows them, UTF-8 cannot encode them) with U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def fim_prompt(window: Window, template: FimTemplate) -> str:
    """A raw FIM prompt with special-token text in the user's code neutralised."""
    tokens = template.special_tokens
    return template.render(
        escape_special_text(window.prefix, tokens), escape_special_text(window.suffix, tokens)
    )


CHAT_SYSTEM_PROMPT = (
    "You are a code completion engine inside an editor. The user's code contains the marker "
    f"{HOLE_MARKER} at the cursor. Reply with exactly the text that replaces the marker: only code, "
    "no explanations, no Markdown fences, and never repeat the code before or after the marker."
)


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def chat_messages(window: Window, language_id: str, multiline: bool) -> list[dict[str, str]]:
    """A hole-filling chat prompt; its start (system message, header, code prefix) is stable across keys."""
    prefix = escape_hole_marker(escape_special_text(window.prefix, ()))
    suffix = escape_hole_marker(escape_special_text(window.suffix, ()))
    code = prefix + HOLE_MARKER + suffix
    fence = _fence_for(code)
    scope = (
        "Fill in the rest of the current block (a few lines at most)."
        if multiline
        else "Fill in the rest of the current line only."
    )
    user = f"{fence}{language_id}\n{code}\n{fence}\n{scope}"
    return [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, {"role": "user", "content": user}]
