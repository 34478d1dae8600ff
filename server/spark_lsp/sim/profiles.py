"""Latency profiles of the simulated upstreams (spark = Cerebras-like, gpu = GPU server, instant = tests)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

PROFILE_NAMES: tuple[str, ...] = ("spark", "gpu", "instant")


@dataclass(frozen=True)
class LatencyProfile:
    """How fast a simulated upstream answers.

    Time to first token = ``ttft_s`` ± ``ttft_jitter_s`` (uniform) + ``prompt_s_per_1k_tokens`` for every
    1000 prompt tokens, which models prefill: it is tiny on wafer-scale hardware and noticeable on a GPU.
    ``tokens_per_second`` of ``None`` means unlimited (every token is due at once).
    """

    name: str
    ttft_s: float
    ttft_jitter_s: float
    tokens_per_second: float | None
    prompt_s_per_1k_tokens: float
    default_model: str

    def with_overrides(self, *, ttft_ms: float | None, tokens_per_second: float | None) -> LatencyProfile:
        """Return this profile with command-line overrides; an explicit TTFT removes the jitter."""
        profile = self
        if ttft_ms is not None:
            profile = replace(profile, ttft_s=max(0.0, ttft_ms) / 1000.0, ttft_jitter_s=0.0)
        if tokens_per_second is not None:
            profile = replace(profile, tokens_per_second=normalise_rate(tokens_per_second))
        return profile

    def ttft_for(self, prompt_tokens: int, rng: random.Random) -> float:
        """Seconds from request arrival to the first token for a prompt of this size."""
        jitter = rng.uniform(-self.ttft_jitter_s, self.ttft_jitter_s) if self.ttft_jitter_s else 0.0
        return max(0.0, self.ttft_s + jitter) + self.prompt_s_per_1k_tokens * prompt_tokens / 1000.0


def normalise_rate(tokens_per_second: float | None) -> float | None:
    """Map a rate of zero or less to unlimited speed."""
    if tokens_per_second is None or tokens_per_second <= 0:
        return None
    return float(tokens_per_second)


PROFILES: dict[str, LatencyProfile] = {
    # Cerebras: ~60 ms to first token, ~1500 tokens/s; prefill runs at roughly 250k tokens/s.
    "spark": LatencyProfile("spark", 0.060, 0.010, 1500.0, 0.004, "sim-spark-coder"),
    # A typical hosted GPU model: ~300 ms to first token, ~60 tokens/s; prefill roughly 20k tokens/s.
    "gpu": LatencyProfile("gpu", 0.300, 0.050, 60.0, 0.050, "sim-gpu-coder"),
    "instant": LatencyProfile("instant", 0.0, 0.0, None, 0.0, "sim-spark-coder"),
}
