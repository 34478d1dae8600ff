"""Multi-step refactors, the pure parts: the plan prompt and its JSON, each step's prompt and check."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from spark_lsp.engine.checked_generation import Failure
from spark_lsp.engine.rewrite_answer import fenced_blocks, parse_rewrite
from spark_lsp.engine.validation import check_syntax

PLAN_SYSTEM_PROMPT = (
    "You plan code refactors that may span several files. Reply with one JSON object and nothing "
    'else: {"summary": "<one sentence>", "steps": [{"file": "<path relative to the workspace root>", '
    '"description": "<what to change in that file>"}]}. One step per file to change (or create), in '
    "the order to make them; list only files that must change."
)
STEP_SYSTEM_PROMPT = (
    "You carry out one step of a refactor. Reply with the complete new content of the file in exactly "
    "one fenced code block and nothing else. Keep everything the step does not ask to change as it is."
)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """Change (or create) one file."""

    file: str
    description: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What the refactor will do, step by step."""

    summary: str
    steps: tuple[PlanStep, ...]


@dataclass(frozen=True, slots=True)
class FileText:
    """A file's text as the refactor read it: from an open document (with its version) or from disk.

    `text` has "\n" line ends; `eol` is the file's own, restored when the edit is made.
    """

    path: str
    text: str
    language_id: str
    version: int | None = None
    exists: bool = True
    eol: str = "\n"


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether `path` lies in one of the `roots` folders (all absolute and resolved)."""
    for root in roots:
        try:
            if os.path.commonpath([root, path]) == root:
                return True
        except ValueError:  # different drives
            continue
    return False


def resolve_path(raw: str, base: str, roots: Sequence[str]) -> str | None:
    """The absolute, symlink-resolved path a plan names (relative to `base`), or None when it leaves
    the workspace folders."""
    if not raw.strip() or "\0" in raw:
        return None
    candidate = raw if os.path.isabs(raw) else os.path.join(base, raw)
    resolved = os.path.realpath(candidate)
    real_roots = [os.path.realpath(root) for root in roots]
    return resolved if inside(resolved, real_roots) else None


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code(label: str, text: str, language_id: str) -> str:
    fence = _fence(text)
    return f"{label}\n{fence}{language_id}\n{text.rstrip(chr(10))}\n{fence}\n"


def plan_messages(
    instruction: str,
    target: FileText,
    relative: str,
    selection: tuple[int, int] | None,
    neighbours: Sequence[str],
    max_steps: int,
) -> list[dict[str, str]]:
    """The planning prompt: the instruction, the file (and selection) it is about, nearby file names."""
    parts = [f"Instruction: {instruction}\n", f"Target file: {relative} ({target.language_id})\n"]
    if neighbours:
        parts.append(
            "Other files in the workspace near it:\n" + "\n".join(f"- {n}" for n in neighbours) + "\n"
        )
    if selection is not None:
        first, last = selection
        lines = target.text.split("\n")[first : last + 1]
        parts.append(
            _code(f"Selected code (lines {first + 1}-{last + 1}):", "\n".join(lines), target.language_id)
        )
    parts.append(_code(f"Content of {relative}:", target.text, target.language_id))
    parts.append(f"Plan at most {max_steps} steps.")
    return [{"role": "system", "content": PLAN_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


def _json_object(text: str) -> object:
    candidates = [block.body for block in fenced_blocks(text)]
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON object")


def parse_plan(answer: str, max_steps: int) -> Plan | Failure:
    """The plan in an answer (JSON, maybe fenced), checked for shape and size."""
    try:
        raw = _json_object(re.sub(r"<think>.*?</think>", "", answer, flags=re.S))
    except ValueError:
        return Failure("the plan is not JSON")
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        return Failure('the plan has no "steps" list')
    steps: list[PlanStep] = []
    for item in raw["steps"]:
        if not isinstance(item, dict):
            return Failure("a plan step is not an object")
        file, description = item.get("file"), item.get("description", "")
        if not isinstance(file, str) or not file.strip() or not isinstance(description, str):
            return Failure('a plan step needs a "file" and a "description"')
        steps.append(PlanStep(file.strip(), description.strip()))
    if not steps:
        return Failure("the plan has no steps")
    if len(steps) > max_steps:
        return Failure(f"the plan has {len(steps)} steps (at most {max_steps} allowed)")
    summary = raw.get("summary")
    return Plan(summary.strip() if isinstance(summary, str) else "", tuple(steps))


def step_messages(
    instruction: str,
    plan: Plan,
    number: int,
    relative: str,
    current: FileText,
    context: Sequence[tuple[str, str, str]],
) -> list[dict[str, str]]:
    """The prompt for step `number` (0-based): the plan, this file's current text, related files.

    `context` holds (relative path, language id, text) of other files the refactor touches, as
    they are after the steps so far, so later steps stay consistent with earlier ones.
    """
    step = plan.steps[number]
    listing = "\n".join(f"{i + 1}. {s.file}: {s.description}" for i, s in enumerate(plan.steps))
    parts = [
        f"Refactor: {instruction}\n",
        f"Plan ({plan.summary}):\n{listing}\n" if plan.summary else f"Plan:\n{listing}\n",
    ]
    for path, language_id, text in context:
        parts.append(_code(f"{path} (related, do not rewrite it here):", text, language_id))
    if current.exists:
        parts.append(_code(f"Current content of {relative}:", current.text, current.language_id))
    else:
        parts.append(f"{relative} does not exist yet: write it.\n")
    parts.append(f"Now do step {number + 1} of {len(plan.steps)}: {step.description}")
    return [{"role": "system", "content": STEP_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


def interpret_step(current: FileText, answer: str) -> str | Failure:
    """The file's new text from a step's answer (whole file or diff), checked to parse."""
    parsed = parse_rewrite(answer, current.text)
    if parsed is None:
        return Failure("the answer holds no code")
    new_text = parsed.text
    if current.text and not current.text.endswith("\n"):
        new_text = new_text.rstrip("\n")
    problem = check_syntax(current.language_id, current.text, new_text, current.text, new_text, 0)
    if problem is not None:
        return Failure(f"{current.path}: {problem}")
    return new_text
