"""Runs a multi-step refactor: plan, then one checked rewrite per step, nothing applied on the way."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from spark_lsp.engine.checked_generation import Failure, generate_checked
from spark_lsp.engine.generation import Deadlines
from spark_lsp.engine.refactor import (
    FileText,
    Plan,
    interpret_step,
    parse_plan,
    plan_messages,
    resolve_path,
    step_messages,
)
from spark_lsp.engine.router import Router, Tier
from spark_lsp.engine.stats import Stats
from spark_lsp.engine.tokens import LineTokenCounter
from spark_lsp.providers.base import ModelRequest

PLAN_MAX_TOKENS = 1024


class RefactorIO(Protocol):
    """What a refactor needs from the editor side: files, and a way to show progress."""

    async def read(self, path: str) -> FileText:
        """A file from the open documents, else from disk (`exists=False` when it is missing)."""
        ...

    async def neighbours(self, path: str) -> list[str]:
        """Names of files near `path`, relative to the workspace root, to help the plan."""
        ...

    def report(self, message: str, percentage: int) -> None:
        """Show how far the refactor has come."""
        ...


@dataclass(frozen=True, slots=True)
class RefactorRequest:
    """An instruction about one file (and maybe a selection in it), within workspace roots."""

    path: str
    instruction: str
    selection: tuple[int, int] | None
    roots: tuple[str, ...]
    base: str


@dataclass(frozen=True, slots=True)
class Models:
    """A routed generation's settings for a refactor."""

    router: Router
    stats: Stats
    counter: LineTokenCounter
    deadlines: Deadlines
    max_tokens: int
    temperature: float
    wants_prediction: Callable[[Tier], bool]
    max_steps: int
    file_tokens: int
    task: str = "refactor"


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file's text before (as read) and after the refactor."""

    original: FileText
    new_text: str


@dataclass(frozen=True, slots=True)
class RefactorResult:
    """The plan and the changed files, ready to become one workspace edit."""

    plan: Plan
    changes: tuple[FileChange, ...]


def _relative(path: str, base: str) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _tokens(counter: LineTokenCounter, text: str) -> int:
    return counter.lines(text.splitlines(keepends=True))


def _request(
    models: Models, tier: Tier, messages: list[dict[str, str]], max_tokens: int, prediction: str | None
) -> ModelRequest:
    assert tier.model is not None
    return ModelRequest(
        model=tier.model,
        max_tokens=max_tokens,
        messages=tuple(messages),
        temperature=models.temperature,
        prediction=prediction if prediction and models.wants_prediction(tier) else None,
    )


async def run_refactor(request: RefactorRequest, io: RefactorIO, models: Models) -> RefactorResult | Failure:
    """Plan the refactor, then rewrite file by file; each answer must parse, and every file must lie in
    the workspace. Returns the final texts, or why it stopped (cancellation raises, as usual)."""
    base = request.base
    io.report("Reading the file", 0)
    target = await _read(io, request.path)
    if isinstance(target, Failure):
        return target
    if not target.exists:
        return Failure(f"{request.path} cannot be read")
    if _tokens(models.counter, target.text) > models.file_tokens:
        return Failure(f"{_relative(request.path, base)} is too large for a refactor (refactor.fileTokens)")
    neighbours = await io.neighbours(request.path)

    io.report("Planning", 5)
    relative_target = _relative(request.path, base)
    messages = plan_messages(
        request.instruction, target, relative_target, request.selection, neighbours, models.max_steps
    )

    def check_plan(answer: str) -> Plan | Failure:
        plan = parse_plan(answer, models.max_steps)
        if isinstance(plan, Failure):
            return plan
        for step in plan.steps:
            if resolve_path(step.file, base, request.roots) is None:
                return Failure(f"the plan names a file outside the workspace folders: {step.file}")
        return plan

    plan = await generate_checked(
        models.router,
        models.stats,
        models.task,
        lambda tier: _request(models, tier, messages, PLAN_MAX_TOKENS, None),
        models.deadlines,
        check_plan,
    )
    if isinstance(plan, Failure):
        return plan

    originals: dict[str, FileText] = {request.path: target}
    current: dict[str, str] = {}
    total = len(plan.steps)
    for number, step in enumerate(plan.steps):
        path = resolve_path(step.file, base, request.roots)
        assert path is not None  # checked with the plan
        relative = _relative(path, base)
        io.report(f"Step {number + 1}/{total}: {relative}", 10 + int(80 * number / total))
        if path not in originals:
            read = await _read(io, path)
            if isinstance(read, Failure):
                return read
            originals[path] = read
        original = originals[path]
        now = FileText(
            path,
            current.get(path, original.text),
            original.language_id,
            original.version,
            original.exists or path in current,
            original.eol,
        )
        if _tokens(models.counter, now.text) > models.file_tokens:
            return Failure(f"{relative} is too large for a refactor (refactor.fileTokens)")
        context = _context(path, originals, current, base, models)
        step_prompt = step_messages(request.instruction, plan, number, relative, now, context)
        limit = min(models.max_tokens, 2 * _tokens(models.counter, now.text) + 512)

        # The file as it is now is what the answer mostly repeats: a good predicted output.
        prediction = now.text if now.exists else None

        def build(
            tier: Tier,
            prompt: list[dict[str, str]] = step_prompt,
            limit: int = limit,
            prediction: str | None = prediction,
        ) -> ModelRequest:
            return _request(models, tier, prompt, limit, prediction)

        def check_step(answer: str, now: FileText = now) -> str | Failure:
            return interpret_step(now, answer)

        new_text = await generate_checked(
            models.router, models.stats, models.task, build, models.deadlines, check_step
        )
        if isinstance(new_text, Failure):
            return Failure(f"step {number + 1} ({relative}): {new_text.reason}")
        current[path] = new_text
    io.report("Preparing the edit", 95)
    changes = tuple(
        FileChange(originals[path], text)
        for path, text in current.items()
        if text != originals[path].text or not originals[path].exists
    )
    return RefactorResult(plan, changes)


async def _read(io: RefactorIO, path: str) -> FileText | Failure:
    try:
        return await io.read(path)
    except (OSError, ValueError) as error:  # unreadable, or not UTF-8 text
        return Failure(f"{path} cannot be read ({error})")


def _context(
    path: str, originals: dict[str, FileText], current: dict[str, str], base: str, models: Models
) -> list[tuple[str, str, str]]:
    """Other files of this refactor as they are now (changed ones first), within the token budget."""
    budget = models.file_tokens
    chosen: list[tuple[str, str, str]] = []
    ordered = [p for p in reversed(list(current)) if p != path] + [
        p for p in originals if p != path and p not in current
    ]
    for other in ordered:
        text = current.get(other, originals[other].text)
        cost = _tokens(models.counter, text)
        if cost > budget:
            continue
        budget -= cost
        chosen.append((_relative(other, base), originals[other].language_id, text))
    return chosen
