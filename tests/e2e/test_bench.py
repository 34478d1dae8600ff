"""End to end: `spark-lsp bench --quick` replays typing through the real server against the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import server_env

pytestmark = pytest.mark.e2e

SOURCE = '''"""A small module the benchmark retypes."""


def total(items: list[int]) -> int:
    result = 0
    for item in items:
        if item < 0:
            continue
        result += item
    return result


def describe(name: str, count: int) -> str:
    label = name.strip().title()
    if count == 1:
        return f"{label}: one item"
    suffix = "items"
    return f"{label}: {count} {suffix}"
'''


def test_quick_bench_on_a_small_file(tmp_path: Path) -> None:
    source = tmp_path / "small.py"
    source.write_text(SOURCE)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "spark_lsp", "bench", "--quick", "--profile", "instant"]
    command += ["--files", str(source), "--speed", "3", "--out", str(out), "--probes", "2"]
    done = subprocess.run(command, env=server_env(None), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "spark-lsp-bench/1"
    assert results["errors"] == []
    [trace] = results["trace"]
    assert trace["file"] == "small.py" and len(trace["regions"]) == 1
    run = results["runs"]["instant"]
    assert run["profile"] == "instant" and run["mode"] == "optimised"
    overall = run["overall"]
    assert overall["files"] == 1 and set(run["files"]) == {"small.py"}
    # The simulator plays a perfect model: suggestions save keystrokes and are never wrong or stale.
    assert overall["keystrokesSaved"] > 0
    assert overall["chars"]["typed"] + overall["chars"]["accepted"] == overall["chars"]["region"]
    assert overall["shown"]["total"] > 0
    assert overall["shown"]["wrong"] == 0 and overall["shown"]["stale"] == 0
    assert overall["requests"]["sent"] > 0 and overall["requests"]["unanswered"] == 0
    assert overall["upstream"]["requests"] > 0 and overall["upstream"]["source"] == "sim"
    assert overall["latencyMs"]["keystrokeToGhostText"]["count"] == overall["shown"]["total"]
    assert overall["latencyMs"]["serverOverhead"]["count"] > 0
    assert overall["latencyMs"]["outsideModelClient"]["count"] > 0
    assert run["timeline"]["events"]
    png = (out / "bench.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "keystrokes saved" in done.stdout
