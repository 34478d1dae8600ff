"""Mutable state of a running simulator: script queue, truth texts, request log and random source."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.fault_mix import FaultChance
from spark_lsp.sim.profiles import LatencyProfile
from spark_lsp.sim.records import RequestLog
from spark_lsp.sim.script import ScriptQueue
from spark_lsp.sim.tokens import count_tokens
from spark_lsp.sim.truth import TruthStore


@dataclass
class SimState:
    """Everything the HTTP handlers read and change; tests may also use it directly in-process."""

    config: SimConfig
    latency: LatencyProfile
    models: tuple[str, ...]
    rng: random.Random
    script: ScriptQueue = field(default_factory=ScriptQueue)
    truth: TruthStore = field(default_factory=TruthStore)
    log: RequestLog = field(default_factory=RequestLog)
    created: int = field(default_factory=lambda: int(time.time()))
    fault_mix: tuple[FaultChance, ...] = ()

    @classmethod
    def from_config(cls, config: SimConfig) -> SimState:
        state = cls(
            config=config,
            latency=config.latency(),
            models=config.model_names(),
            rng=random.Random(config.seed),
        )
        # Loading the tokenizer takes tens of milliseconds; do it now, not inside the first request's TTFT.
        count_tokens("warm up")
        for path in config.truth_files:
            state.truth.add(str(path), path.read_text(encoding="utf-8"))
        for name, text in config.extra_truth.items():
            state.truth.add(name, text)
        state.fault_mix = config.fault_mix
        return state
