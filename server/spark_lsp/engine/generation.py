"""One generation with per-tier fallback, deadlines and optional hedging, whatever the task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from spark_lsp.engine.redaction import redact
from spark_lsp.engine.router import Router, Tier
from spark_lsp.engine.stats import Stats
from spark_lsp.providers.base import ModelRequest, ProviderError, StreamInfo

logger = logging.getLogger(__name__)
_MIN_HEDGE_S = 0.05


class Stopper(Protocol):
    """Decides, after each streamed piece, that the answer is complete."""

    def should_stop(self, raw: str) -> bool:
        """Whether to stop reading after `raw` so far."""
        ...

    def on_deadline(self, raw: str) -> str | None:
        """What of an answer cut short by the deadline is still worth using (None: nothing)."""
        ...

    def on_stop(self, raw: str) -> str:
        """What to keep of an answer this stopper stopped reading (a half-streamed line is not code)."""
        ...


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a task may wait for a first token (per tier) and for the whole answer (all tiers)."""

    first_token_s: float
    total_s: float


@dataclass(slots=True)
class Generation:
    """A raw answer and where and how fast it came."""

    text: str
    tier: Tier
    first_token_s: float | None
    upstream_s: float
    info: StreamInfo = field(default_factory=StreamInfo)
    # Time spent waiting on providers across every attempt, the failed ones before this one included.
    attempts_s: float = 0.0


async def _attempt(
    tier: Tier,
    request: ModelRequest,
    stopper: Stopper | None,
    first_token_s: float,
    total_s: float,
    stats: Stats,
    series: str,
    first_token: asyncio.Event | None = None,
) -> Generation:
    """Stream one answer from one tier; deadlines become `timeout` ProviderErrors."""
    provider = tier.provider
    assert provider is not None
    info = StreamInfo()
    raw = ""
    started = time.perf_counter()
    started_mono = time.monotonic()
    first_at: float | None = None
    stats.count(f"upstream.{tier.name}.calls")
    try:
        async with asyncio.timeout(total_s):
            async with contextlib.aclosing(provider.stream(request, info)) as pieces:
                iterator = aiter(pieces)
                while True:
                    # The first token and every later one must come within `first_token_s`: a stream
                    # that stalls mid-way is as useless as one that never starts.
                    try:
                        async with asyncio.timeout(first_token_s):
                            piece = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        what = "first token" if first_at is None else "next token"
                        stats.count(f"{series}.{'firstTokenDeadline' if first_at is None else 'stalled'}")
                        raise ProviderError(
                            "timeout", f"no {what} within {first_token_s * 1000:.0f} ms"
                        ) from None
                    if first_at is None:
                        first_at = time.perf_counter()
                        if first_token is not None:
                            first_token.set()
                    raw += piece
                    if stopper is not None and stopper.should_stop(raw):
                        stats.count(f"{series}.earlyStops")
                        raw = stopper.on_stop(raw)
                        break
    except TimeoutError:
        # A slow tier that already streamed complete lines is slow, not failing: keep those lines
        # (a long multi-line answer at 60 tokens/s cannot finish within an inline deadline).
        kept = None if stopper is None else stopper.on_deadline(raw)
        if not kept:
            stats.count(f"{series}.deadlineMissed")
            raise ProviderError("timeout", f"answer not complete within {total_s * 1000:.0f} ms") from None
        stats.count(f"{series}.deadlineCuts")
        raw = kept
    except (ProviderError, asyncio.CancelledError):
        raise
    except Exception as error:
        # A bug below us (SDK, transport) must not reach the editor as an exception: log it in full
        # and let the request fall back like any other failure.
        logger.exception("unexpected error from the %s tier", tier.name)
        raise ProviderError("protocol", f"unexpected error: {error!r}"[:300]) from None
    upstream_s = time.perf_counter() - started
    first_token_at = None if first_at is None else first_at - started
    stats.calls.append(
        {
            "id": info.headers.get("x-request-id"),
            "tier": tier.name,
            "task": series,
            "startedAt": round(started_mono, 6),
            "firstTokenAt": None if first_token_at is None else round(started_mono + first_token_at, 6),
            "endedAt": round(started_mono + upstream_s, 6),
        }
    )
    if first_token_at is not None:
        stats.observe(f"upstream.{tier.name}.timeToFirstToken", first_token_at * 1000)
    return Generation(raw, tier, first_token_at, upstream_s, info)


def _hedge_delay(tier: Tier, stats: Stats) -> float:
    """Hedge once the first tier is slower than 95% of its recent first tokens."""
    series = stats.latencies.get(f"upstream.{tier.name}.timeToFirstToken")
    p95 = series.percentile(0.95) if series is not None else None
    return max(_MIN_HEDGE_S, (p95 or 300.0) / 1000.0)


async def generate(
    router: Router,
    task: str,
    build: Callable[[Tier], ModelRequest],
    deadlines: Deadlines,
    stats: Stats,
    make_stopper: Callable[[Tier], Stopper | None] = lambda tier: None,
    validate: Callable[[str], bool] | None = None,
    hedge: bool = False,
) -> Generation | None:
    """The first good answer from the task's tiers in order, within the deadlines; None otherwise.

    A tier that fails (429, 5xx, connection, no first token in time, context too long, an answer that
    fails `validate`) hands the request to the next one while time remains.
    """
    started = time.perf_counter()
    build = _redacting(build)
    candidates = router.candidates(task)
    if not candidates:
        stats.count(f"{task}.noTier")
        return None
    index = 0
    attempts_s = 0.0
    while index < len(candidates):
        tier = candidates[index]
        remaining = deadlines.total_s - (time.perf_counter() - started)
        if remaining <= 0:
            stats.count(f"{task}.deadlineMissed")
            return None
        first_token_s = min(deadlines.first_token_s, remaining)
        partner = candidates[index + 1] if hedge and index + 1 < len(candidates) else None
        attempt_started = time.perf_counter()
        try:
            if partner is None:
                request = build(tier)
                attempt_started = time.perf_counter()
                generation = await _attempt(
                    tier, request, make_stopper(tier), first_token_s, remaining, stats, task
                )
            else:
                generation = await _hedged(
                    router, tier, partner, build, make_stopper, first_token_s, remaining, stats, task
                )
                index += 1  # both tiers of the pair have been tried
        except ProviderError as error:
            attempts_s += time.perf_counter() - attempt_started
            failed_tier = getattr(error, "tier", tier)
            stats.count(f"upstream.{failed_tier.name}.errors")
            stats.count(f"errors.{error.kind}")
            logger.warning("%s tier failed for %s: %s", failed_tier.name, task, error)
            router.failed(failed_tier, error)
            index += 1
            continue
        except asyncio.CancelledError:
            router.cancelled(tier)
            raise
        if validate is not None and not validate(generation.text):
            attempts_s += generation.upstream_s
            stats.count(f"{task}.invalidAnswers")
            router.failed(generation.tier, ProviderError("invalid_answer", "the answer failed validation"))
            index += 1
            continue
        router.succeeded(generation.tier, generation.info.headers)
        if generation.tier is not candidates[0]:
            stats.count(f"{task}.fallbacks")
        stats.count(f"{task}.answeredBy.{generation.tier.name}")
        generation.attempts_s = attempts_s + (time.perf_counter() - attempt_started)
        return generation
    return None


def _redacting(build: Callable[[Tier], ModelRequest]) -> Callable[[Tier], ModelRequest]:
    """Every request leaves with secrets redacted, whichever feature built it."""

    def redacted(tier: Tier) -> ModelRequest:
        request = build(tier)
        if request.redacted:
            return request
        messages = tuple(
            {**message, "content": redact(message.get("content", "")).text} for message in request.messages
        )
        prompt = None if request.prompt is None else redact(request.prompt).text
        return replace(request, prompt=prompt, messages=messages, redacted=True)

    return redacted


async def _hedged(
    router: Router,
    first: Tier,
    second: Tier,
    build: Callable[[Tier], ModelRequest],
    make_stopper: Callable[[Tier], Stopper | None],
    first_token_s: float,
    total_s: float,
    stats: Stats,
    series: str,
) -> Generation:
    """Race a second tier against the first once the first is slow to produce a token."""
    got_token = asyncio.Event()
    opening = _attempt(
        first, build(first), make_stopper(first), first_token_s, total_s, stats, series, got_token
    )
    attempts = {asyncio.ensure_future(opening): first}
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(got_token.wait()), _hedge_delay(first, stats))
        if not got_token.is_set() and not all(task.done() for task in attempts):
            stats.count(f"{series}.hedged")
            attempts[
                asyncio.ensure_future(
                    _attempt(second, build(second), make_stopper(second), total_s, total_s, stats, series)
                )
            ] = second
        last_error: ProviderError | None = None
        pending = set(attempts)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is None:
                    return task.result()
                if not isinstance(error, ProviderError):
                    raise error
                if last_error is not None:
                    # Only the last failure is raised to the caller; tell the router of the others here.
                    failed = last_error.tier  # type: ignore[attr-defined]
                    stats.count(f"upstream.{failed.name}.errors")
                    router.failed(failed, last_error)
                error.tier = attempts[task]  # type: ignore[attr-defined]
                last_error = error
        assert last_error is not None
        raise last_error
    finally:
        for task in attempts:
            task.cancel()
