"""Circuit breaker, rate-limit headers and routing decisions, on a fake clock."""

from __future__ import annotations

from spark_lsp.config import ModelSettings
from spark_lsp.engine.router import CircuitBreaker, Router, Tier, route_names
from spark_lsp.providers.base import ProviderError
from spark_lsp.providers.ratelimit import exhausted_for, parse_duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeProvider:
    name = "fake"
    tier = "fake"


def _tier(name: str, clock: Clock) -> Tier:
    return Tier(name, FakeProvider(), "model", ModelSettings(), CircuitBreaker(clock=clock), setup="ok")  # type: ignore[arg-type]


def test_breaker_opens_after_the_threshold_and_probes_after_the_pause() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, open_s=5, max_open_s=20, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 5
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # a single probe
    breaker.failure()
    assert breaker.state == "open"
    clock.now += 5
    assert breaker.state == "open"  # reopened for twice as long
    clock.now += 5
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.failures == 0


def test_a_cancelled_probe_lets_another_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, open_s=1, clock=clock)
    breaker.failure()
    clock.now += 1
    assert breaker.allow()
    breaker.release_probe()
    assert breaker.allow()


def test_rate_limit_headers() -> None:
    assert parse_duration("6m0s") == 360.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("1.5") == 1.5
    assert parse_duration("soon") is None
    assert (
        exhausted_for({"x-ratelimit-remaining-tokens-minute": "0", "x-ratelimit-reset-tokens-minute": "42"})
        == 42
    )
    assert exhausted_for({"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "1m30s"}) == 90
    assert exhausted_for({"x-ratelimit-remaining-requests-day": "10"}) is None
    assert exhausted_for({"x-ratelimit-remaining-requests": "0"}) == 60.0  # no reset header: a minute


def test_routes_fall_back_in_order_and_skip_unhealthy_tiers() -> None:
    clock = Clock()
    router = Router(clock=clock)
    fast, gpu = _tier("fast", clock), _tier("gpu", clock)
    router.set_tier(fast)
    router.set_tier(gpu)
    assert [t.name for t in router.candidates("inline")] == ["fast", "gpu"]
    assert [t.name for t in router.candidates("refactor")] == ["gpu", "fast"]

    router.failed(fast, ProviderError("rate_limited", "429", retry_after_s=10))
    assert [t.name for t in router.candidates("inline")] == ["gpu"]
    assert fast.health(clock.now) == "degraded"
    clock.now += 10
    assert [t.name for t in router.candidates("inline")] == ["fast", "gpu"]

    router.fallback_enabled = False
    assert [t.name for t in router.candidates("inline")] == ["fast"]


def test_request_errors_do_not_count_against_a_tier() -> None:
    clock = Clock()
    router = Router(clock=clock)
    fast = _tier("fast", clock)
    router.set_tier(fast)
    for _ in range(5):
        router.failed(fast, ProviderError("context_too_long", "400"))
    assert fast.breaker.state == "closed"
    router.failed(fast, ProviderError("unauthorized", "401"))
    assert fast.health(clock.now) == "down" and router.candidates("inline") == []


def test_health_changes_are_notified_once() -> None:
    clock = Clock()
    router = Router(clock=clock)
    calls: list[int] = []
    router.on_change = lambda: calls.append(1)
    fast = _tier("fast", clock)
    router.set_tier(fast)
    assert len(calls) == 1
    router.succeeded(fast, {})
    assert len(calls) == 1
    router.failed(fast, ProviderError("server_error", "500"))
    assert len(calls) == 2  # ok -> degraded
    snapshot = router.snapshot()["fast"]
    assert snapshot["state"] == "degraded" and snapshot["breaker"] == "closed"


def test_route_settings_override_defaults() -> None:
    routes = route_names({"inline": ["local", "fast"]})
    assert routes["inline"] == ("local", "fast") and routes["refactor"] == ("gpu", "fast")
