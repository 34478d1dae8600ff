"""Finds the cursor "hole" (prefix and suffix) in FIM prompts and in chat prompts with a fill marker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Clients neutralise special-token look-alikes in user text by putting a zero-width non-joiner after the
# first character; the simulated model reads through that, as the benchmark's truth text has none.
ESCAPE_MARK = "\u200c"
FILL_MARKER = "{{FILL_HERE}}"


@dataclass(frozen=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    # CodeLlama's template puts spaces after <PRE>, before <SUF> and before <MID> that are not code.
    pad: str = ""


FIM_TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate("qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    FimTemplate("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    FimTemplate("codellama", "<PRE>", "<SUF>", "<MID>", pad=" "),
    # DeepSeek's markers use FULLWIDTH VERTICAL LINE and LOWER ONE EIGHTH BLOCK, not ASCII.
    FimTemplate(
        "deepseek",
        "<\uff5cfim\u2581begin\uff5c>",
        "<\uff5cfim\u2581hole\uff5c>",
        "<\uff5cfim\u2581end\uff5c>",
    ),
)


@dataclass(frozen=True)
class Hole:
    """Where the model must write: the code before and after the cursor, and which format found it."""

    prefix: str
    suffix: str
    source: str


def unescape(text: str) -> str:
    return text.replace(ESCAPE_MARK, "")


def hole_in_completion_prompt(prompt: str) -> Hole:
    """Split a raw prompt with FIM markers; a prompt without them is all prefix (plain completion)."""
    for template in FIM_TEMPLATES:
        hole = _split_fim(prompt, template)
        if hole is not None:
            return hole
    return Hole(unescape(prompt), "", "plain")


def _split_fim(prompt: str, template: FimTemplate) -> Hole | None:
    # The last prefix marker wins so that few-shot examples earlier in the prompt are ignored.
    start = prompt.rfind(template.prefix)
    if start < 0:
        return None
    body = prompt[start + len(template.prefix) :]
    suffix_at = body.find(template.suffix)
    if suffix_at < 0:
        return None
    prefix = body[:suffix_at]
    rest = body[suffix_at + len(template.suffix) :]
    middle_at = rest.find(template.middle)
    suffix = rest if middle_at < 0 else rest[:middle_at]
    # Text after the middle marker is the start of the answer already written (a pre-filled middle).
    prefilled = "" if middle_at < 0 else rest[middle_at + len(template.middle) :]
    if template.pad:
        prefix = prefix.removeprefix(template.pad).removesuffix(template.pad)
        suffix = suffix.removesuffix(template.pad)
    return Hole(unescape(prefix + prefilled), unescape(suffix), template.name)


def message_text(content: object) -> str:
    """Text of a chat message's content, which is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [part.get("text", "") for part in content if isinstance(part, Mapping)]
        return "".join(part for part in parts if isinstance(part, str))
    return ""


def hole_in_chat(messages: Sequence[Mapping[str, Any]]) -> Hole | None:
    """Find ``{{FILL_HERE}}`` in the last user message that has it, bounded by its code fence if any."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        text = message_text(message.get("content"))
        at = _marker_position(text)
        if at is None:
            continue
        prefix = _after_opening_fence(text[:at])
        suffix = _before_closing_fence(text[at + len(FILL_MARKER) :])
        # A trailing assistant message is a pre-filled start of the answer.
        prefilled = "".join(
            message_text(m.get("content")) for m in messages[index + 1 :] if m.get("role") == "assistant"
        )
        return Hole(unescape(prefix + prefilled), unescape(suffix), "chat")
    return None


def _marker_position(text: str) -> int | None:
    """The marker inside a code fence (instructions may mention it too), else the last one."""
    positions: list[int] = []
    at = text.find(FILL_MARKER)
    while at >= 0:
        positions.append(at)
        at = text.find(FILL_MARKER, at + 1)
    for position in positions:
        fences = sum(1 for line in text[:position].split("\n")[:-1] if _is_fence(line))
        if fences % 2 == 1:
            return position
    return positions[-1] if positions else None


def _is_fence(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("```") or stripped.startswith("~~~")


def _after_opening_fence(before: str) -> str:
    lines = before.split("\n")
    # The last element is the partial line the cursor sits on, never a fence.
    for index in range(len(lines) - 2, -1, -1):
        if _is_fence(lines[index]):
            return "\n".join(lines[index + 1 :])
    return before


def _before_closing_fence(after: str) -> str:
    lines = after.split("\n")
    for index in range(1, len(lines)):
        if _is_fence(lines[index]):
            return "\n".join(lines[:index]) + "\n"
    return after
