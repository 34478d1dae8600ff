"""Hover explanations: what is under the cursor, its prompt, the cleaned answer, and the cache."""

from __future__ import annotations

import hashlib
import keyword
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spark_lsp.engine.answer_shapes import cut_at_special_tokens, normalize_newlines
from spark_lsp.engine.rewrite_answer import fenced_blocks
from spark_lsp.engine.scope import Scope, enclosing_scope
from spark_lsp.engine.tokens import LineTokenCounter

_WORD = re.compile(r"[^\W\d]\w*|\$\w*")
_DOTTED_BEFORE = re.compile(r"(?:[^\W\d]\w*\s*\.\s*)+$")
# Words that say nothing on their own: explain their line instead.
_KEYWORDS = frozenset(keyword.kwlist) | {
    "function",
    "const",
    "let",
    "var",
    "func",
    "fn",
    "public",
    "private",
    "static",
    "void",
    "int",
    "string",
    "this",
    "self",
    "new",
    "package",
    "struct",
    "impl",
}
_THINKING = re.compile(r"<think>.*?</think>\s*", re.S)
MAX_EXPLANATION_CHARS = 900
SYSTEM_PROMPT = (
    "You explain code to a programmer who is reading it in an editor. Answer in Markdown in at most "
    "three short sentences (under 80 words): what the thing is and what it does here. No preamble, "
    "no headings, and no code blocks."
)


@dataclass(frozen=True, slots=True)
class HoverTarget:
    """The symbol, expression or line to explain, and the scope around it."""

    text: str
    kind: Literal["symbol", "line"]
    line: int
    start: int
    end: int
    line_text: str
    scope: Scope
    scope_text: str
    language_id: str

    @property
    def key(self) -> str:
        """The cache key: a hash of what is explained and its context."""
        digest = hashlib.sha256()
        for part in (self.language_id, self.kind, self.text, self.line_text, self.scope_text):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def word_at(text: str, index: int) -> tuple[int, int] | None:
    """The identifier touching str index `index` in `text`, as (start, end), or None."""
    for match in _WORD.finditer(text):
        if match.start() <= index <= match.end():
            return match.start(), match.end()
        if match.start() > index:
            break
    return None


def hover_target(
    lines: Sequence[str], line: int, index: int, language_id: str, counter: LineTokenCounter, budget: int
) -> HoverTarget | None:
    """What to explain at (line, str index): the dotted expression ending at the word under the
    cursor, or the whole line when the cursor is on a keyword or between words; None on a blank line."""
    if not 0 <= line < len(lines):
        return None
    text = _content(lines[line])
    if not text.strip():
        return None
    word = word_at(text, index)
    kind: Literal["symbol", "line"] = "symbol"
    if word is None or text[word[0] : word[1]] in _KEYWORDS:
        kind = "line"
        start, end = len(text) - len(text.lstrip()), len(text.rstrip())
    else:
        start, end = word
        dotted = _DOTTED_BEFORE.search(text[:start])
        if dotted is not None:
            start = dotted.start()

    def fits(scope: Scope) -> bool:
        return counter.lines(lines[scope.start : scope.end]) <= budget

    scope = enclosing_scope(lines, language_id, line, line, fits)
    scope_text = "".join(lines[scope.start : scope.end]).replace("\r\n", "\n")
    return HoverTarget(
        re.sub(r"\s+", "", text[start:end]) if kind == "symbol" else text[start:end].strip(),
        kind,
        line,
        start,
        end,
        text,
        scope,
        scope_text,
        language_id,
    )


def hover_messages(target: HoverTarget) -> list[dict[str, str]]:
    """The chat prompt: the scope as context, then the question."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", target.scope_text)), default=0))
    where = f"line {target.line + 1}: `{target.line_text.strip()}`"
    question = (
        f"Explain `{target.text}` on {where}." if target.kind == "symbol" else f"Explain what {where} does."
    )
    user = f"{fence}{target.language_id}\n{target.scope_text.rstrip()}\n{fence}\n{question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def clean_explanation(answer: str) -> str | None:
    """The answer as short Markdown: no thinking, special tokens or wrapping fence; None if empty."""
    text = _THINKING.sub("", normalize_newlines(cut_at_special_tokens(answer))).strip()
    blocks = fenced_blocks(text)
    if len(blocks) == 1 and text.startswith(("```", "~~~")) and blocks[0].info in ("", "markdown", "md"):
        text = blocks[0].body.strip()
    if len(text) > MAX_EXPLANATION_CHARS:
        cut = text.rfind(". ", 0, MAX_EXPLANATION_CHARS)
        text = text[: cut + 1] if cut > 0 else text[:MAX_EXPLANATION_CHARS].rstrip() + "…"
    return text or None


class HoverCache:
    """The most recent explanations by `HoverTarget.key` (least recently used dropped first)."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        """An explanation, or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        """Keep an explanation."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
