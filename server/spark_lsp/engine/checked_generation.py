"""A routed generation whose answer must pass a check; a failing answer goes to the next tier."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from spark_lsp.engine.generation import Deadlines, generate
from spark_lsp.engine.redaction import contains_placeholder
from spark_lsp.engine.router import Router, Tier
from spark_lsp.engine.stats import Stats
from spark_lsp.providers.base import ModelRequest

_T = TypeVar("_T")
_CLOSING_FENCE = re.compile(r"\n[ \t]*(`{3,}|~{3,})[ \t]*(?:\n|$)")


@dataclass(frozen=True, slots=True)
class Failure:
    """Why there is no usable answer, in words for the user."""

    reason: str


class FenceStop:
    """Stop reading once the first fenced block has closed: prose after the code is not needed."""

    def should_stop(self, raw: str) -> bool:
        """Whether `raw` already holds an opening and a closing fence."""
        opening = re.search(r"(?:^|\n)[ \t]*(`{3,}|~{3,})[^\n]*\n", raw)
        if opening is None:
            return False
        fence = opening.group(1)
        for closing in _CLOSING_FENCE.finditer(raw, opening.end() - 1):
            if closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                return closing.end() > opening.end()
        return False

    def on_deadline(self, raw: str) -> str | None:
        """A rewrite cut short is never applied."""
        return None

    def on_stop(self, raw: str) -> str:
        """Everything: the fenced block is complete, what follows it is ignored by the parser."""
        return raw


async def generate_checked(
    router: Router,
    stats: Stats,
    task: str,
    build: Callable[[Tier], ModelRequest],
    deadlines: Deadlines,
    check: Callable[[str], _T | Failure],
    stop_at_fence: bool = True,
) -> _T | Failure:
    """The checked result of the first answer that passes `check`, trying the task's tiers in order.

    An answer that fails the check is retried on the next tier (the router's `validate` hook); when
    none passes, the last reason is returned so the user can be told what was wrong.
    """
    problems: list[str] = []
    accepted: list[_T] = []

    def validate(text: str) -> bool:
        if contains_placeholder(text):
            # Applying it would put a placeholder where the user's secret is.
            problems.append("it contains a redaction placeholder instead of the code it replaces")
            return False
        outcome = check(text)
        if isinstance(outcome, Failure):
            problems.append(outcome.reason)
            return False
        accepted.append(outcome)
        return True

    def stopper(tier: Tier) -> FenceStop | None:
        return FenceStop() if stop_at_fence else None

    if not router.candidates_exist(task):
        return Failure("no model is available for this (check the spark-lsp status and settings)")
    generation = await generate(router, task, build, deadlines, stats, stopper, validate)
    if generation is None:
        if problems:
            return Failure(f"the model's answer was not usable: {problems[-1]}")
        return Failure("no model answered in time")
    return accepted[-1]
