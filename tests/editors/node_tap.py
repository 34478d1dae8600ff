"""Results of node's test runner (`--test-reporter=tap`), top-level tests only."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(
    r"^(?P<ok>ok|not ok) \d+ - (?P<name>.*?)(?: # (?P<directive>SKIP|TODO)\b ?(?P<reason>.*))?$"
)


@dataclass(frozen=True)
class TapResult:
    name: str
    ok: bool
    skipped: str | None


def parse_tap(output: str) -> dict[str, TapResult]:
    """Top-level results by test name (subtests and diagnostics are indented, so ignored)."""
    results: dict[str, TapResult] = {}
    for line in output.splitlines():
        if match := _LINE.match(line):
            skipped = match["reason"] or "skipped" if match["directive"] == "SKIP" else None
            results[match["name"]] = TapResult(match["name"], match["ok"] == "ok", skipped)
    return results


def failure_details(output: str, name: str) -> str:
    """The YAML diagnostics block node prints under a failed test."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("not ok") and name in line:
            block = [line]
            for follow in lines[index + 1 :]:
                if not follow.startswith(" "):
                    break
                block.append(follow)
            return "\n".join(block)
    return output[-4000:]
