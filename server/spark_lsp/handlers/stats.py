"""spark/stats: counters, latency percentiles and tier health, for the client and the benchmark."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_lsp.process_info import process_info

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer

STATS_REQUEST = "spark/stats"


def register(server: SparkLanguageServer) -> None:
    """Register the custom stats request."""

    @server.feature(STATS_REQUEST)
    def stats(ls: SparkLanguageServer, params: Any) -> dict[str, Any]:
        session = ls.session
        return {**session.stats.snapshot(), "tiers": session.tiers_snapshot(), "process": process_info()}
