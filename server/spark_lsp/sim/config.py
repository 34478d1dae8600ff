"""Settings of one simulator instance, shared by the command line and the in-process API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from spark_lsp.sim.fault_mix import FaultChance
from spark_lsp.sim.profiles import PROFILES, LatencyProfile


@dataclass(frozen=True)
class SimConfig:
    """How to run the simulator; ``port=0`` picks a free port and ``models=()`` uses the profile's model."""

    profile: str = "spark"
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    cert_out: Path | None = None
    truth_files: tuple[Path, ...] = ()
    models: tuple[str, ...] = ()
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    seed: int | None = None
    # Seconds hypercorn waits for in-flight responses on shutdown before cancelling them.
    graceful_timeout_s: float = 0.5
    # Truth texts by name, for in-process tests that have no files.
    extra_truth: Mapping[str, str] = field(default_factory=dict)
    # Faults injected at random into unscripted answers (benchmarks of the fallback path).
    fault_mix: tuple[FaultChance, ...] = ()
    # A network's round-trip time added by a delaying proxy in front of the server (0 = loopback's).
    rtt_ms: float = 0.0

    def latency(self) -> LatencyProfile:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose from {', '.join(PROFILES)}")
        return PROFILES[self.profile].with_overrides(
            ttft_ms=self.ttft_ms, tokens_per_second=self.tokens_per_second
        )

    def model_names(self) -> tuple[str, ...]:
        return self.models or (self.latency().default_model,)
