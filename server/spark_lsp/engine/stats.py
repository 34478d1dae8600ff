"""Counters and latency percentiles for `spark/stats`."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any


class LatencySeries:
    """The most recent samples of one latency, in milliseconds, with percentiles."""

    def __init__(self, capacity: int = 2048) -> None:
        self._samples: deque[float] = deque(maxlen=capacity)
        self.count = 0

    def add(self, milliseconds: float) -> None:
        """Record one sample."""
        self._samples.append(milliseconds)
        self.count += 1

    def percentile(self, fraction: float) -> float | None:
        """The nearest-rank percentile of the recent samples, or None when there are none."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
        return ordered[rank]

    def summary(self) -> dict[str, Any]:
        """p50/p95/p99 and the count, rounded for display."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "count": self.count,
            "p50": rounded(self.percentile(0.50)),
            "p95": rounded(self.percentile(0.95)),
            "p99": rounded(self.percentile(0.99)),
        }


class Stats:
    """What the server did: counters by name and latency series by name."""

    def __init__(self, recent_calls: int = 256) -> None:
        self.counters: Counter[str] = Counter()
        self.latencies: dict[str, LatencySeries] = {}
        # The latest upstream calls with the provider's request id and monotonic timestamps, so a
        # tool holding the provider's own timings (the benchmark, with the simulator's) can tell
        # exactly how much of each round-trip the model spent.
        self.calls: deque[dict[str, Any]] = deque(maxlen=recent_calls)

    def count(self, name: str, amount: int = 1) -> None:
        """Increment a counter."""
        self.counters[name] += amount

    def observe(self, name: str, milliseconds: float) -> None:
        """Record a latency sample."""
        series = self.latencies.get(name)
        if series is None:
            series = self.latencies[name] = LatencySeries()
        series.add(milliseconds)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view, nested by the dotted parts of each name (`inline.cacheHits`)."""
        return {
            "counters": _nest((name, value) for name, value in sorted(self.counters.items())),
            "latencyMs": _nest((name, series.summary()) for name, series in sorted(self.latencies.items())),
            "recentUpstreamCalls": list(self.calls),
        }


def _nest(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in items:
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
