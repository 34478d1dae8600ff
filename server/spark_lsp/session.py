"""The one owner of mutable server state: documents, settings, providers, in-flight work, stats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from spark_lsp.config import Settings, deadline, model_settings
from spark_lsp.engine.cursor import prefix_tail
from spark_lsp.engine.debounce import TypingRhythm
from spark_lsp.engine.documents import DocumentStore
from spark_lsp.engine.exclusion import Exclusion, ExclusionPolicy
from spark_lsp.engine.generation import Deadlines
from spark_lsp.engine.inline import InlineCompleter, InlineOptions, InlineRequest, accepted
from spark_lsp.engine.positions import PositionEncoding
from spark_lsp.engine.router import CircuitBreaker, Router, Tier, route_names
from spark_lsp.engine.stats import Stats
from spark_lsp.engine.suggestion_cache import SuggestionCache
from spark_lsp.engine.tokens import LineTokenCounter, load_encoder
from spark_lsp.providers.base import Provider, ProviderError
from spark_lsp.providers.cerebras import CerebrasProvider
from spark_lsp.providers.http_client import make_http_client
from spark_lsp.providers.openai_compat import OpenAICompatProvider

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


class Superseded(Exception):
    """A request was replaced by a newer one for the same document before it finished."""


class Session:
    """Everything the handlers share. Handlers take frozen snapshots from here and call the engine."""

    def __init__(self) -> None:
        self.documents = DocumentStore()
        self.settings = Settings()
        self.encoding = PositionEncoding.UTF16
        self.stats = Stats()
        self.cache = SuggestionCache()
        self.counter = LineTokenCounter()
        self.router = Router()
        self.client_has_inline_completion = True
        self._rhythms: dict[str, TypingRhythm] = {}
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._encoder_task: asyncio.Future[None] | None = None
        self.completer = InlineCompleter(
            self.cache, self.counter, self.stats, self.router, self.encoder_ready
        )
        self._background: set[asyncio.Task[Any]] = set()
        self.providers_ready = asyncio.Event()
        self.last_activity = time.monotonic()
        self._keep_warm: asyncio.Task[None] | None = None
        self._prefetches: dict[str, tuple[tuple[int, int, str], asyncio.Task[Any]]] = {}
        self.completer.on_cache_miss = self.cancel_prefetch
        self.completer.current_lines = self._current_lines
        self.workspace_roots: list[str] = []
        # "static": advertised at initialize; "dynamic": registered while enabled; "registered": it is.
        self.hover_registration = "static"
        self.exclusion = ExclusionPolicy.load([], [])
        self._exclusions: dict[str, Exclusion | None] = {}
        self._told_excluded: set[str] = set()
        self._problems_reported = 0

    # Tokenizer -----------------------------------------------------------------------------------
    def start_loading_encoder(self) -> None:
        """Load tiktoken's encoding in a worker thread so the event loop never waits on it."""
        if self._encoder_task is None:
            loop = asyncio.get_running_loop()

            async def load() -> None:
                try:
                    self.counter.set_encoder(await loop.run_in_executor(None, load_encoder))
                except Exception:
                    logger.exception("could not load the tokenizer; using an estimate for prompt budgets")

            self._encoder_task = asyncio.ensure_future(load())

    async def encoder_ready(self) -> None:
        """Wait for the tokenizer (only the first request ever waits)."""
        if self._encoder_task is None:
            self.start_loading_encoder()
        assert self._encoder_task is not None
        await asyncio.shield(self._encoder_task)

    # Typing rhythm -------------------------------------------------------------------------------
    # Content exclusion ---------------------------------------------------------------------------
    def configure_exclusion(self) -> None:
        """Rebuild the policy from the workspace folders and the `exclude` setting."""
        self.exclusion = ExclusionPolicy.load(self.workspace_roots, self.settings.exclude)
        self._exclusions.clear()
        self._told_excluded.clear()
        self._problems_reported = 0

    def ignore_files_changed(self, uris: list[str]) -> None:
        """An ignore file changed: forget cached decisions that may depend on it."""
        for uri in uris:
            self.exclusion.invalidate(uri)
        self._exclusions.clear()
        self._told_excluded.clear()

    async def exclusion_for(self, uri: str) -> Exclusion | None:
        """Why a document must not be sent to any model, or None; reads ignore files off the loop."""
        if uri in self._exclusions:
            return self._exclusions[uri]
        policy = self.exclusion
        if policy.needs_io(uri):
            decision = await asyncio.get_running_loop().run_in_executor(None, policy.decide, uri)
        else:
            decision = policy.decide(uri)
        if policy is self.exclusion:
            self._exclusions[uri] = decision
        if decision is not None:
            logger.info("not sending %s to any model: %s", uri, decision.reason)
        problems = policy.problems
        for problem in problems[self._problems_reported :]:
            logger.warning("exclusion rules: %s", problem)
        self._problems_reported = len(problems)
        return decision

    def known_exclusion(self, uri: str) -> Exclusion | None:
        """The exclusion decided for `uri` at didOpen, without waiting; None if allowed or not known yet."""
        return self._exclusions.get(uri)

    def first_time_excluded(self, uri: str) -> bool:
        """Whether the user has not yet been told this document is excluded (and remember telling)."""
        if uri in self._told_excluded:
            return False
        self._told_excluded.add(uri)
        return True

    def _current_lines(self, uri: str) -> tuple[str, ...] | None:
        snapshot = self.documents.snapshot(uri)
        return None if snapshot is None else snapshot.lines

    def keystroke(self, uri: str) -> None:
        """Note a document change for the adaptive debounce."""
        rhythm = self.rhythm(uri)
        rhythm.keystroke(time.monotonic())

    def rhythm(self, uri: str) -> TypingRhythm:
        """The typing rhythm of one document, created with the current debounce bounds."""
        inline = self.settings.inline
        rhythm = self._rhythms.get(uri)
        if rhythm is None:
            rhythm = self._rhythms[uri] = TypingRhythm(inline.debounce_min_ms, inline.debounce_max_ms)
        else:
            rhythm.min_ms, rhythm.max_ms = inline.debounce_min_ms, inline.debounce_max_ms
        return rhythm

    def forget(self, uri: str) -> None:
        """Drop per-document state when a document closes."""
        self._rhythms.pop(uri, None)
        self._exclusions.pop(uri, None)
        self._told_excluded.discard(uri)
        self.cache.forget(uri)
        self.cancel_prefetch(uri)
        task = self._inflight.pop(uri, None)
        if task is not None:
            task.cancel()

    # Requests ------------------------------------------------------------------------------------
    def inline_request(
        self, uri: str, line: int, character: int, automatic: bool, received_at: float
    ) -> InlineRequest | None:
        """A frozen request for a cursor in an open document, or None when it is not open."""
        self.last_activity = time.monotonic()
        snapshot = self.documents.snapshot(uri)
        if snapshot is None:
            return None
        line, index = snapshot.position_to_index(line, character, self.encoding)
        return InlineRequest(
            uri=uri,
            version=snapshot.version,
            language_id=snapshot.language_id,
            lines=snapshot.lines,
            line=line,
            index=index,
            indent_unit=snapshot.indent_unit(line),
            eol=snapshot.eol,
            automatic=automatic,
            received_at=received_at,
        )

    async def wait_until_ready(self, timeout_s: float = 3.0) -> None:
        """Let requests that arrive during start-up wait (briefly) for the providers to be set up."""
        if not self.providers_ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.providers_ready.wait(), timeout_s)

    def inline_options(self) -> InlineOptions:
        """The inline pipeline's knobs from the current settings."""
        settings = self.settings
        limits = deadline(settings, "inline")
        return InlineOptions(
            settings=settings.inline,
            deadlines=Deadlines(limits.first_token_ms / 1000.0, limits.total_ms / 1000.0),
            hedge=settings.routing.hedge and not settings.naive_baseline,
            naive=settings.naive_baseline,
        )

    def start(self, key: str, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        """Run `work` as the latest request for `key`, cancelling the previous one (and its stream)."""
        previous = self._inflight.get(key)
        if previous is not None and not previous.done():
            previous.cancel()
            self.stats.count("inline.superseded")
        task = asyncio.ensure_future(work)
        self._inflight[key] = task
        task.add_done_callback(
            lambda done: self._inflight.pop(key, None) if self._inflight.get(key) is done else None
        )
        return task

    async def latest(self, key: str, work: Coroutine[Any, Any, _T]) -> _T:
        """Await `work` as the latest request for `key`; raise Superseded if a newer one replaced it.

        Cancelling the caller (`$/cancelRequest`) cancels the work too.
        """
        task = self.start(key, work)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise Superseded(key) from None
            raise

    def prefetch(self, request: InlineRequest, shown: str) -> None:
        """Start fetching what follows a shown suggestion (once per place it would end, and only
        when nothing under way or in the cache answers that place already)."""
        if self.settings.naive_baseline or not self.settings.inline.prefetch:
            return
        future = accepted(request, shown)
        key = (future.line, future.index, prefix_tail(future.lines, future.line, future.index, 64))
        current = self._prefetches.get(request.uri)
        if current is not None and current[0] == key:
            return
        # A generation still reading the lines after the shown one fills the cache for that place; so
        # does an answer that ran into the code below (nothing comes after it).
        if self.completer.flying(request.uri) or self.completer.knows(future):
            return
        self.cancel_prefetch(request.uri)
        task = self.completer.prefetch(future, self.inline_options())
        self._prefetches[request.uri] = (key, task)
        self.keep(task)

    def cancel_prefetch(self, uri: str) -> None:
        """Stop speculative work for a document (the user went another way)."""
        current = self._prefetches.pop(uri, None)
        if current is not None and not current[1].done():
            current[1].cancel()
            self.stats.count("prefetch.abandoned")

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a reference to a background task until it ends."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Providers -----------------------------------------------------------------------------------
    def _new_tier(self, name: str, provider: Provider | None, model: str | None) -> Tier:
        return Tier(
            name=name,
            provider=provider,
            model=model,
            model_settings=model_settings(self.settings, model or ""),
            breaker=CircuitBreaker(clock=self.router.now),
            setup="starting" if provider is not None else "unconfigured",
        )

    async def configure_providers(self) -> list[str]:
        """(Re)create every tier from settings; returns user-facing messages (warming comes after)."""
        await self.close_providers()
        settings = self.settings
        router = self.router
        router.routes = route_names(settings.routing.routes)
        router.fallback_enabled = settings.routing.fallback and not settings.naive_baseline
        messages: list[str] = []
        reuse = not settings.naive_baseline

        fast: Provider | None = None
        if settings.fast_api_key:
            http = make_http_client(settings.request_timeout_s, settings.ca_bundle, reuse=reuse)
            fast = CerebrasProvider(http, settings.fast_api_key, settings.fast_base_url)
        router.set_tier(self._new_tier("fast", fast, settings.fast_model))

        gpu: Provider | None = None
        if settings.gpu_base_url:
            http = make_http_client(settings.request_timeout_s, settings.ca_bundle, reuse=reuse)
            gpu = OpenAICompatProvider(http, settings.gpu_base_url, settings.gpu_api_key, "gpu", "gpu")
        router.set_tier(self._new_tier("gpu", gpu, settings.gpu_model))

        for position, extra in enumerate(settings.providers):
            if not extra.name or not extra.base_url or extra.name in ("fast", "gpu"):
                messages.append(
                    f"spark-lsp: sparkLsp.providers[{position}] needs a unique name (not fast/gpu) and a "
                    "baseUrl; ignored."
                )
                continue
            key = os.environ.get(extra.api_key_env) if extra.api_key_env else None
            http = make_http_client(settings.request_timeout_s, settings.ca_bundle, reuse=reuse)
            provider = OpenAICompatProvider(http, extra.base_url, key, extra.name, extra.name)
            router.set_tier(self._new_tier(extra.name, provider, extra.model))

        if fast is None and gpu is None and not settings.providers:
            messages.append(
                "spark-lsp: no Cerebras API key is configured, so no suggestions will appear. "
                'In VS Code run "Spark: Set Cerebras API Key"; with other editors set CEREBRAS_API_KEY in '
                "the environment the server starts in, then restart it."
            )
        return messages

    async def warm_tiers(self) -> list[str]:
        """Open each tier's pooled connection and check its model against `GET /v1/models`."""
        tiers = [tier for tier in self.router.tiers.values() if tier.provider is not None]
        results = await asyncio.gather(*(self._warm(tier) for tier in tiers))
        self.router.notify_if_changed()
        if any(tier.setup in ("ok", "degraded") for tier in tiers):
            self._start_keep_warm()
        return [message for messages in results for message in messages]

    async def _warm(self, tier: Tier) -> list[str]:
        assert tier.provider is not None
        try:
            models = await tier.provider.list_models()
        except ProviderError as error:
            tier.setup, tier.detail = "down", str(error)
            self.stats.count(f"errors.{error.kind}")
            return [f"spark-lsp: the {tier.name} tier is not reachable ({error}). It will be retried."]
        if tier.model is None:
            if not models:
                tier.setup, tier.detail = "down", "the endpoint lists no models"
                return [f"spark-lsp: the {tier.name} tier's endpoint lists no models; configure its model."]
            tier.model = models[0]
            tier.model_settings = model_settings(self.settings, tier.model)
            logger.info("no %s model configured; using %s", tier.name, tier.model)
        elif tier.model not in models:
            listed = ", ".join(models[:12]) or "none"
            tier.setup, tier.detail = "degraded", "model not listed"
            env = {"fast": "SPARK_LSP_FAST_MODEL", "gpu": "SPARK_LSP_GPU_MODEL"}.get(
                tier.name, "its model setting"
            )
            return [
                f"spark-lsp: the {tier.name} model {tier.model!r} is not offered by the endpoint "
                f"(it offers: {listed}). Requests will fail until {env} names one of them."
            ]
        tier.setup, tier.detail = "ok", ""
        return []

    def tiers_snapshot(self) -> dict[str, Any]:
        """Every tier's health for stats and status."""
        return self.router.snapshot()

    def _start_keep_warm(self) -> None:
        interval = self.settings.keep_warm_s
        if interval <= 0 or self.settings.naive_baseline or self._keep_warm is not None:
            return
        self._keep_warm = asyncio.ensure_future(self._keep_warm_loop(interval))

    async def _keep_warm_loop(self, interval: float) -> None:
        """Touch each pooled connection while the user is active, so a pause doesn't cost a handshake.

        Providers and load balancers drop idle connections after a minute or two; a cheap
        authenticated GET keeps ours open. After 10 idle minutes we let them go. A tier that was down
        is re-checked on the way, so it comes back on its own.
        """
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self.last_activity > 600:
                continue
            for tier in list(self.router.tiers.values()):
                if tier.provider is None:
                    continue
                if tier.setup == "down":
                    await self._warm(tier)
                    self.router.notify_if_changed()
                    continue
                try:
                    await tier.provider.warm()
                    self.stats.count(f"upstream.{tier.name}.keepWarm")
                except ProviderError as error:
                    logger.info("keep-warm request to the %s tier failed: %s", tier.name, error)

    async def close_providers(self) -> None:
        """Close provider connections (on reconfiguration and shutdown)."""
        if self._keep_warm is not None:
            self._keep_warm.cancel()
            self._keep_warm = None
        for task in list(self._inflight.values()):
            task.cancel()
        for tier in list(self.router.tiers.values()):
            if tier.provider is not None:
                try:
                    await tier.provider.aclose()
                except Exception:
                    logger.debug("error closing the %s tier", tier.name, exc_info=True)
        self.router.tiers.clear()
