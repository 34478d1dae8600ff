"""Which tier serves a task, and when to stop asking one: circuit breakers, rate-limit blocks, health."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spark_lsp.config import ModelSettings
from spark_lsp.providers.base import Provider, ProviderError
from spark_lsp.providers.ratelimit import exhausted_for

logger = logging.getLogger(__name__)

Task = Literal["inline", "quickfix", "hover", "refactor"]
Health = Literal["ok", "degraded", "down", "unconfigured", "starting"]
DEFAULT_ROUTES: Mapping[str, tuple[str, ...]] = {
    "inline": ("fast", "gpu"),
    "quickfix": ("fast", "gpu"),
    "hover": ("fast", "gpu"),
    "refactor": ("gpu", "fast"),
}
# Errors that say nothing about the tier's health: the request itself was the problem.
_NOT_THE_TIERS_FAULT = frozenset({"bad_request", "context_too_long", "invalid_answer"})
_DEFAULT_RATE_LIMIT_PAUSE_S = 1.0


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after a pause lets one probe through (half-open).

    A failed probe reopens it for twice as long (up to `max_open_s`); a success closes it.
    """

    def __init__(
        self,
        threshold: int = 3,
        open_s: float = 5.0,
        max_open_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base_open_s = open_s
        self.max_open_s = max_open_s
        self._clock = clock
        self.failures = 0
        self._open_s = open_s
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        """closed: all requests pass; open: none; half_open: one probe may pass."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._open_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a request may be sent now (claims the single probe when half-open)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        """A request succeeded: close."""
        self.failures = 0
        self._opened_at = None
        self._probing = False
        self._open_s = self.base_open_s

    def failure(self) -> None:
        """A request failed: count it, open (or reopen for longer) when over the threshold."""
        self.failures += 1
        if self._probing:
            self._probing = False
            self._open_s = min(self.max_open_s, self._open_s * 2)
            self._opened_at = self._clock()
        elif self.failures >= self.threshold:
            self._opened_at = self._clock()

    def release_probe(self) -> None:
        """A probe ended without a verdict (cancelled): let another one through."""
        self._probing = False


@dataclass(slots=True)
class Tier:
    """One configured provider with its model and what we know of its health."""

    name: str
    provider: Provider | None
    model: str | None
    model_settings: ModelSettings
    breaker: CircuitBreaker
    setup: Health = "starting"
    detail: str = ""
    blocked_until: float = 0.0

    def health(self, now: float) -> Health:
        """ok / degraded / down / unconfigured / starting, for the status bar."""
        if self.provider is None or self.setup == "unconfigured":
            return "unconfigured"
        if self.setup in ("down", "starting"):
            return self.setup
        breaker = self.breaker.state
        if breaker == "open":
            return "down"
        if (
            breaker == "half_open"
            or self.blocked_until > now
            or self.breaker.failures
            or self.setup == "degraded"
        ):
            return "degraded"
        return "ok"

    def usable(self, now: float) -> bool:
        """Configured, with a model, not rate-limited and not behind an open breaker (no probe claimed)."""
        return (
            self.provider is not None
            and self.model is not None
            and self.setup not in ("unconfigured", "down")
            and self.blocked_until <= now
            and self.breaker.state != "open"
        )


class Router:
    """Maps tasks to ordered tiers and keeps each tier's health from the outcomes it is told."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.tiers: dict[str, Tier] = {}
        self.routes: dict[str, tuple[str, ...]] = dict(DEFAULT_ROUTES)
        self.fallback_enabled = True
        self.on_change: Callable[[], None] | None = None
        self._last_health: dict[str, Health] = {}

    def now(self) -> float:
        """The router's clock."""
        return self._clock()

    def set_tier(self, tier: Tier) -> None:
        """Add or replace a tier."""
        self.tiers[tier.name] = tier
        self.notify_if_changed()

    def candidates(self, task: str) -> list[Tier]:
        """Tiers to try for a task, in order; a half-open tier is included only if it grants a probe."""
        now = self.now()
        chosen: list[Tier] = []
        for name in self.routes.get(task, DEFAULT_ROUTES.get(task, ("fast",))):
            tier = self.tiers.get(name)
            if tier is None or not tier.usable(now):
                continue
            if tier.breaker.state == "half_open" and not tier.breaker.allow():
                continue
            chosen.append(tier)
            if not self.fallback_enabled:
                break
        return chosen

    def candidates_exist(self, task: str) -> bool:
        """Whether any tier could serve the task now, without claiming a half-open probe."""
        now = self.now()
        names = self.routes.get(task, DEFAULT_ROUTES.get(task, ("fast",)))
        return any(tier.usable(now) for name in names if (tier := self.tiers.get(name)) is not None)

    def succeeded(self, tier: Tier, headers: Mapping[str, str]) -> None:
        """A request to `tier` worked; its rate-limit headers may still say the budget is spent."""
        tier.breaker.success()
        pause = exhausted_for(headers)
        if pause is not None:
            tier.blocked_until = self.now() + pause
            logger.warning("%s tier: rate-limit budget spent; pausing it for %.1f s", tier.name, pause)
        self.notify_if_changed()

    def failed(self, tier: Tier, error: ProviderError) -> None:
        """A request to `tier` failed; decide what that says about the tier."""
        now = self.now()
        if error.kind == "rate_limited":
            pause = error.retry_after_s
            budget = exhausted_for(error.headers)
            pause = max(p for p in (pause, budget, _DEFAULT_RATE_LIMIT_PAUSE_S) if p is not None)
            tier.blocked_until = now + pause
            tier.breaker.release_probe()
            logger.warning("%s tier rate-limited; not sending to it for %.1f s", tier.name, pause)
        elif error.kind == "unauthorized":
            tier.setup, tier.detail = "down", f"the key was refused ({error})"
        elif error.kind in _NOT_THE_TIERS_FAULT:
            tier.breaker.release_probe()
        else:
            tier.breaker.failure()
            tier.detail = str(error)
        self.notify_if_changed()

    def cancelled(self, tier: Tier) -> None:
        """A request was cancelled by the user: no verdict on the tier."""
        tier.breaker.release_probe()

    def snapshot(self) -> dict[str, Any]:
        """Every tier's health, for `spark/stats` and `spark/status` (never keys)."""
        now = self.now()
        return {
            name: {
                "state": tier.health(now),
                "model": tier.model,
                "detail": tier.detail,
                "provider": tier.provider.name if tier.provider is not None else None,
                "breaker": tier.breaker.state,
                "rateLimitedForS": round(max(0.0, tier.blocked_until - now), 3),
            }
            for name, tier in self.tiers.items()
        }

    def notify_if_changed(self) -> None:
        """Call `on_change` when any tier's health changed since the last call."""
        now = self.now()
        health = {name: tier.health(now) for name, tier in self.tiers.items()}
        if health != self._last_health:
            changed = [
                f"{n}: {self._last_health.get(n, '-')} -> {h}"
                for n, h in health.items()
                if self._last_health.get(n) != h
            ]
            logger.info("tier health changed (%s)", ", ".join(changed))
            self._last_health = health
            if self.on_change is not None:
                self.on_change()


def route_names(raw: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Routes from settings over the defaults."""
    routes = dict(DEFAULT_ROUTES)
    routes.update({task: tuple(names) for task, names in raw.items()})
    return routes
