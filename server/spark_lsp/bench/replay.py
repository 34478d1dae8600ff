"""Types regions into the server like VS Code would, with the simulated user's Tab decisions, and logs it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from lsprotocol import types

from spark_lsp.bench.editor import EditorDocument, position_after
from spark_lsp.bench.events import RequestKind, SentRequest
from spark_lsp.bench.intervals import ACCEPT_REACTION_S
from spark_lsp.bench.lsp_client import BenchClient, ServerGone
from spark_lsp.bench.user import RegionProgress, judge


@dataclass(frozen=True)
class Timing:
    """How the simulated user and editor pace themselves (all but the timeouts divided by `speed`)."""

    speed: float = 1.0
    # The user keeps looking at the finished region this long: a suggestion shown now is judged too.
    linger_s: float = 0.4
    request_timeout_s: float = 10.0
    # At the end of a region, how long to wait for the answers to cancelled requests.
    settle_s: float = 3.0

    @property
    def reaction_s(self) -> float:
        """Pause after Tab before the next key."""
        return ACCEPT_REACTION_S / self.speed


def _first_item(result: Any) -> tuple[str, types.Range | None]:
    """The first item's text and range from an inline completion result of any accepted shape."""
    items: Sequence[Any]
    if result is None:
        return "", None
    if isinstance(result, types.InlineCompletionList):
        items = result.items
    elif isinstance(result, list):
        items = result
    else:
        items = getattr(result, "items", None) or []
    if not items:
        return "", None
    item = items[0]
    text = item.insert_text if isinstance(item.insert_text, str) else getattr(item.insert_text, "value", "")
    return str(text or ""), item.range


def _anchored_at(where: types.Range | None, line: int, character: int) -> bool:
    """Whether an item's range is an insertion at (line, character), or absent (= at the cursor)."""
    if where is None:
        return True
    here = (line, character)
    return (where.start.line, where.start.character) == here and (where.end.line, where.end.character) == here


class Replayer:
    """Drives one server: opens documents, types, cancels, accepts, and records every request."""

    def __init__(self, client: BenchClient, timing: Timing, log: list[SentRequest]) -> None:
        self.client = client
        self.timing = timing
        self.log = log
        self.keys = 0
        self.on_key: Callable[[int], None] | None = None
        self.problems: list[str] = []
        self._doc: EditorDocument | None = None
        self._progress: RegionProgress | None = None
        self._latest: SentRequest | None = None
        self._visible: SentRequest | None = None

    # Typing --------------------------------------------------------------------------------------
    async def type_region(
        self,
        uri: str,
        language_id: str,
        before: str,
        after: str,
        progress: RegionProgress,
        intervals: Sequence[float],
        region: int,
    ) -> None:
        """Open the document without the region, type it all back, then close the document."""
        doc = EditorDocument.at(uri, language_id, before)
        self._doc, self._progress, self._latest, self._visible = doc, progress, None, None
        first = len(self.log)
        self.client.open(uri, language_id, before + after)
        due = time.monotonic() + intervals[progress.done]
        while not progress.finished:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self._check()
            now = time.monotonic()
            shown, self._visible = self._visible, None
            if shown is not None and shown.verdict == "correct" and shown.text:
                shown.accepted = True
                progress.accept(shown.text)
                self._edit(shown.text, "accept", now, region)
                due = now + self.timing.reaction_s
            else:
                self._edit(progress.next_keystroke(), "type", now, region)
                if not progress.finished:
                    due = now + intervals[progress.done]
        await asyncio.sleep(self.timing.linger_s / self.timing.speed)
        self._check()
        await self._settle(first)
        self.client.close(uri)
        self._doc = self._progress = self._latest = self._visible = None

    def _edit(self, text: str, kind: RequestKind, now: float, region: int) -> None:
        """One key press (or Tab): didChange, cancel the unanswered request, ask for new ghost text."""
        doc = self._doc
        assert doc is not None
        line, character = doc.insert(text)
        self.client.change(doc.uri, doc.version, line, character, text)
        previous = self._latest
        if previous is not None and previous.outcome == "pending":
            previous.outcome = "cancelled"
            self.client.cancel(previous.msg_id)
        msg_id, future = self.client.inline(doc.uri, doc.line, doc.character)
        request = SentRequest(msg_id, kind, now, doc.version, doc.line, doc.character, region)
        self.log.append(request)
        self._latest = request
        future.add_done_callback(partial(self._answered, request))
        self.keys += 1
        if self.on_key is not None:
            self.on_key(self.keys)

    def _answered(self, request: SentRequest, future: Future[Any]) -> None:
        """Runs when the answer is parsed (on the event loop's thread): timestamp first, then judge."""
        if future.cancelled():
            return  # the editor gave up waiting (a probe timed out): no answer arrived
        request.answered_at = time.monotonic()
        error = future.exception()
        if request.outcome == "cancelled":
            # VS Code drops answers to cancelled requests; note when the server answered anyway.
            request.answered_after_cancel = error is None
            return
        if request.outcome != "pending":
            return
        if error is not None:
            request.outcome, request.error = "error", repr(error)[:300]
            return
        text, where = _first_item(future.result())
        if not text:
            request.outcome = "empty"
            return
        request.outcome, request.text = "suggestion", text
        doc, progress = self._doc, self._progress
        if request.kind in ("probe", "echo") or doc is None or progress is None:
            return
        anchored = _anchored_at(where, request.line, request.character)
        at_cursor = doc.cursor == (request.line, request.character)
        request.verdict = judge(
            text, progress.remaining, request.version, doc.version, anchored and at_cursor
        )
        self._visible = request

    def _check(self) -> None:
        """Fail fast when the server died; give up on a request that is not answered in time."""
        if not self.client.alive():
            raise ServerGone(self.client.exit_detail())
        latest = self._latest
        if (
            latest is not None
            and latest.outcome == "pending"
            and time.monotonic() - latest.at > self.timing.request_timeout_s
        ):
            latest.outcome = "unanswered"
            latest.error = f"no answer within {self.timing.request_timeout_s:g} s"
            self.client.cancel(latest.msg_id)

    async def _settle(self, first: int) -> None:
        """Cancel the last request if open, then wait (bounded) until every request has been answered."""
        latest = self._latest
        if latest is not None and latest.outcome == "pending":
            latest.outcome = "cancelled"
            self.client.cancel(latest.msg_id)
        deadline = time.monotonic() + self.timing.settle_s
        while any(r.answered_at is None for r in self.log[first:]) and time.monotonic() < deadline:
            if not self.client.alive():
                raise ServerGone(self.client.exit_detail())
            await asyncio.sleep(0.02)
        slow = 0
        for request in self.log[first:]:
            if request.answered_at is None:
                request.error = f"never answered (outcome {request.outcome})"
                if request.outcome == "pending":
                    request.outcome = "unanswered"
            if (
                request.answered_at is None
                or request.answered_at - request.at > self.timing.request_timeout_s
            ):
                slow += 1
        if slow:
            # A cancelled request must still be answered, and promptly: late answers mean the server
            # stalled, even when the editor had moved on and nothing looked wrong on screen.
            self.problems.append(
                f"{slow} request(s) answered late or never (after more than "
                f"{self.timing.request_timeout_s:g} s): the server stalled"
            )

    # Probes --------------------------------------------------------------------------------------
    async def probe(
        self, uri: str, language_id: str, text: str, count: int, gap_s: float
    ) -> list[SentRequest]:
        """Invoked requests at the end of a complete file: one clean round-trip each, nothing to debounce."""
        probes: list[SentRequest] = []
        line, character = position_after(text)
        for _ in range(count):
            # The same request for a document that is not open: nothing to do but answer.
            probes.append(await self._probe_once(f"{uri}.closed", line, character, "echo"))
            await asyncio.sleep(gap_s)
        self.client.open(uri, language_id, text)
        await asyncio.sleep(gap_s)
        for _ in range(count):
            probes.append(await self._probe_once(uri, line, character, "probe"))
            await asyncio.sleep(gap_s)
        self.client.close(uri)
        return probes

    async def _probe_once(self, uri: str, line: int, character: int, kind: RequestKind) -> SentRequest:
        """One invoked request, awaited (bounded by the request timeout)."""
        self._check()
        msg_id, future = self.client.inline(uri, line, character, invoked=True)
        request = SentRequest(msg_id, kind, time.monotonic(), 1, line, character, region=-1)
        future.add_done_callback(partial(self._answered, request))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.wrap_future(future), self.timing.request_timeout_s)
        if request.answered_at is None:
            request.outcome, request.error = "unanswered", "probe timed out"
            self.client.cancel(msg_id)
        return request
