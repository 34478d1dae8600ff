"""Rate-limit headers (`x-ratelimit-*`, Cerebras and OpenAI styles): when a tier's budget is spent."""

from __future__ import annotations

import re
from collections.abc import Mapping

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds from `12`, `1.5`, `6m0s`, `250ms`, `1h2m` (the forms providers send)."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def exhausted_for(headers: Mapping[str, str]) -> float | None:
    """Seconds until the budget resets when a `x-ratelimit-remaining-*` counter is at zero, else None.

    Cerebras sends e.g. `x-ratelimit-remaining-tokens-minute` with `x-ratelimit-reset-tokens-minute`;
    OpenAI sends `x-ratelimit-remaining-requests` with `x-ratelimit-reset-requests`.
    """
    longest: float | None = None
    for name, value in headers.items():
        lowered = name.lower()
        if not lowered.startswith("x-ratelimit-remaining-"):
            continue
        try:
            remaining = float(value)
        except ValueError:
            continue
        if remaining > 0:
            continue
        reset_name = "x-ratelimit-reset-" + lowered.removeprefix("x-ratelimit-remaining-")
        reset = next((v for k, v in headers.items() if k.lower() == reset_name), None)
        seconds = parse_duration(reset) if reset is not None else None
        seconds = 60.0 if seconds is None else seconds
        longest = seconds if longest is None else max(longest, seconds)
    return longest
