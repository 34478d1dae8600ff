"""Random fault injection for benchmarks: each unscripted answer fails with a given probability."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from spark_lsp.sim.faults import Fault, parse_fault


@dataclass(frozen=True)
class FaultChance:
    """A fault and the share of answers it hits."""

    probability: float
    fault: Fault


def parse_fault_mix(raw: object) -> tuple[FaultChance, ...]:
    """`[{"probability": 0.2, "fault": {...}}, ...]` (or its JSON text); probabilities must sum to <= 1."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, list):
        raise ValueError("the fault mix must be a list of {probability, fault} objects")
    chances: list[FaultChance] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("each fault mix entry must be an object")
        probability = item.get("probability")
        if (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 <= probability <= 1
        ):
            raise ValueError("probability must be a number between 0 and 1")
        chances.append(FaultChance(float(probability), parse_fault(item.get("fault"))))
    if sum(chance.probability for chance in chances) > 1.0 + 1e-9:
        raise ValueError("the fault probabilities add up to more than 1")
    return tuple(chances)


def draw_fault(chances: Sequence[FaultChance], rng: random.Random) -> Fault | None:
    """One draw: the fault that hits this answer, or None."""
    if not chances:
        return None
    roll = rng.random()
    for chance in chances:
        if roll < chance.probability:
            return chance.fault
        roll -= chance.probability
    return None
