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


def _run_bench(tmp_path: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """`spark-lsp bench --files small.py --out tmp_path/out ARGS` (SOURCE is small.py)."""
    source = tmp_path / "small.py"
    source.write_text(SOURCE)
    command = [
        sys.executable,
        "-m",
        "spark_lsp",
        "bench",
        "--files",
        str(source),
        "--out",
        str(tmp_path / "out"),
    ]
    return subprocess.run(
        [*command, *args], env=server_env(None), capture_output=True, text=True, timeout=timeout
    )


def test_quick_bench_on_a_small_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run_bench(tmp_path, "--quick", "--profile", "instant", "--speed", "3", "--probes", "2")
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


def _bench(tmp_path: Path, *args: str, timeout: float = 180) -> dict[str, object]:
    done = _run_bench(tmp_path, *args, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    results: dict[str, object] = json.loads((tmp_path / "out" / "results.json").read_text())
    return results


def test_fault_scenario_runs_with_and_without_fallback(tmp_path: Path) -> None:
    results = _bench(tmp_path, "--faults", "--quick", "--profile", "instant", "--speed", "3", "--probes", "0")
    runs = results["runs"]
    assert isinstance(runs, dict) and set(runs) == {"instant fallback", "instant no-fallback"}
    for run in runs.values():
        assert run["overall"]["requests"]["unanswered"] == 0


def test_a_short_soak_with_faults_leaves_no_errors_and_flat_resources(tmp_path: Path) -> None:
    results = _bench(tmp_path, "--soak", "--keystrokes", "1200", "--profile", "instant")
    memory = results["memory"]
    assert isinstance(memory, dict)
    soak = memory["soak"]
    assert soak["logProblems"] == [] and soak["errors"] == []
    assert memory["metrics"]["requests"]["unanswered"] == 0
    resources = soak["resources"]
    assert len(resources) >= 2
    assert max(r["openFds"] for r in resources) - min(r["openFds"] for r in resources) <= 8
    assert max(r["asyncioTasks"] for r in resources) <= 50


def test_wire_mode_splits_a_round_trip_on_a_pooled_and_on_new_connections(tmp_path: Path) -> None:
    done = _run_bench(tmp_path, "--wire", "4", "--profile", "instant")
    assert done.returncode == 0, done.stdout + done.stderr

    wire = json.loads((tmp_path / "out" / "wire.json").read_text())
    assert wire["profile"] == "instant"
    rows = {row["connection"]: row for row in wire["rows"]}
    assert set(rows) == {"pooled", "new connection"}
    # Every request was joined with the simulator's record of it, by x-request-id.
    assert all(row["requests"] == 4 for row in rows.values())
    # What the modes are: the pooled requests reuse the warm connection, the others open one each.
    assert rows["pooled"]["connectionsOpened"] == 0
    assert rows["new connection"]["connectionsOpened"] == 4
    for row in rows.values():
        parts = [row["sdkMs"], row["clientOutMs"], row["clientInMs"]]
        assert all(part > 0 for part in parts)
        # The parts are pieces of the whole: the SDK's time is part of ours on the way out.
        assert row["sdkMs"] <= row["clientOutMs"]
        total = row["clientOutMs"] + row["clientInMs"] + row["farEndAndKernelMs"]
        assert abs(total - row["outsideMs"]) < 0.5
    assert "less time outside the model" in done.stdout


def test_wire_mode_refuses_no_requests(tmp_path: Path) -> None:
    done = _run_bench(tmp_path, "--wire", "0", timeout=60)
    assert done.returncode == 2 and "--wire needs N >= 1" in done.stderr


def test_wire_mode_through_a_network_round_trip(tmp_path: Path) -> None:
    done = _run_bench(tmp_path, "--wire", "3", "--profile", "instant", "--rtt-ms", "30")
    assert done.returncode == 0, done.stdout + done.stderr

    wire = json.loads((tmp_path / "out" / "wire.json").read_text())
    assert wire["rttMs"] == 30
    rows = {row["connection"]: row for row in wire["rows"]}
    # One round-trip for a request on a warm connection; TCP, TLS 1.3 and the request on a new one.
    assert rows["pooled"]["outsideMs"] >= 30
    assert rows["new connection"]["outsideMs"] >= 90
