"""Runs the trace: one simulator per profile, a fresh server per file and mode, probes, stats, records."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark_lsp.bench.events import FileRun
from spark_lsp.bench.lsp_client import BenchClient, ServerGone
from spark_lsp.bench.replay import Replayer, Timing
from spark_lsp.bench.sim_runner import SimRunner
from spark_lsp.bench.trace import FilePlan
from spark_lsp.bench.user import RegionProgress

logger = logging.getLogger(__name__)

# Initialization options per mode; the naive baseline turns every latency optimisation off server-side.
MODES: dict[str, dict[str, Any] | None] = {
    "optimised": None,
    "naive": {"naiveBaseline": True},
    # The fault scenario: the same server with and without per-request fallback to the GPU tier.
    "fallback": {"routing": {"fallback": True}},
    "no-fallback": {"routing": {"fallback": False}},
}
# `--faults`: the fast tier answers 429 to 20% of requests and stalls 5% of streams before the first
# token (long enough to miss the inline first-token deadline).
FAULT_MIX = (
    '[{"probability": 0.2, "fault": {"type": "status", "status": 429, "retry_after_ms": 500}},'
    ' {"probability": 0.05, "fault": {"type": "stall_before_first_token", "ms": 3000}}]'
)
GPU_SIM_MODEL = "sim-gpu-coder"
READY_TIMEOUT_S = 15.0
# The tokenizer loads in a worker thread from `initialize` (~0.15 s): waiting keeps that one-off cost
# out of the first keystroke's overhead sample.
TOKENIZER_GRACE_S = 0.5


@dataclass(frozen=True)
class RunSettings:
    """What every file run shares."""

    timing: Timing
    log_dir: Path
    probes: int = 8
    probe_gap_s: float = 0.05
    # A network round-trip between the server and the simulator (0: loopback's).
    rtt_ms: float = 0.0


def label(profile: str, mode: str) -> str:
    """The name a run goes by in tables and plots."""
    return profile if mode == "optimised" else f"{profile} {mode}"


def server_env(sim: SimRunner | None, gpu: SimRunner | None = None) -> dict[str, str]:
    """The server's environment: the simulator's URL, model and certificate, or the real one (live);
    with `gpu`, a GPU tier on a second simulator (both simulators' certificates are then trusted)."""
    if sim is None:
        return dict(os.environ)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CEREBRAS_", "SPARK_LSP_"))}
    env.update(
        {"CEREBRAS_BASE_URL": sim.url, "CEREBRAS_API_KEY": "sim-key", "SPARK_LSP_FAST_MODEL": sim.model}
    )
    certs = [runner.cert for runner in (sim, gpu) if runner is not None and runner.cert]
    if gpu is not None:
        env.update(
            {
                "SPARK_LSP_GPU_BASE_URL": gpu.url + "/v1",
                "SPARK_LSP_GPU_API_KEY": "sim-key",
                "SPARK_LSP_GPU_MODEL": gpu.model,
            }
        )
    if certs:
        env["SSL_CERT_FILE"] = _bundle(certs)
    return env


def _bundle(certs: list[str]) -> str:
    """One CA file holding every simulator's self-signed certificate."""
    if len(certs) == 1:
        return certs[0]
    bundle = Path(certs[0]).with_name("bench-ca-bundle.pem")
    bundle.write_text("".join(Path(cert).read_text() for cert in certs))
    return str(bundle)


async def wait_ready(client: BenchClient) -> dict[str, Any]:
    """Wait until the server has set up its fast tier (or given up on it); return the last stats."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    stats = await client.stats()
    while stats.get("tiers", {}).get("fast", {}).get("state") == "starting" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        stats = await client.stats()
    await asyncio.sleep(TOKENIZER_GRACE_S)
    return stats


def _slim(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Prompts are most of a record's size and no metric reads them.
    return [{k: v for k, v in record.items() if k != "prompt"} for record in records]


def _budget_s(plan: FilePlan, timing: Timing) -> float:
    """A generous bound on one file's replay, so a stuck server cannot stall the benchmark."""
    typing = sum(sum(intervals) for intervals in plan.intervals)
    return 3.0 * typing + 20.0 * len(plan.regions) + 60.0


async def run_file(
    plan: FilePlan,
    profile: str,
    mode: str,
    sim: SimRunner | None,
    settings: RunSettings,
    gpu: SimRunner | None = None,
) -> FileRun:
    """Replay one file's regions through a fresh server; never raises for server trouble, records it."""
    source = plan.source
    run = FileRun(label(profile, mode), profile, mode, source.name, regions=plan.describe())
    run.started_at = time.monotonic()
    log_path = settings.log_dir / f"server-{profile}-{mode}-{source.name}.log"
    client: BenchClient | None = None
    try:
        if sim is not None:
            await sim.take_records()
        client = await BenchClient.start(server_env(sim, gpu), MODES[mode], log_path)
        await wait_ready(client)
        if sim is not None:
            await sim.take_records()  # drop the start-up `GET /v1/models`
        replayer = Replayer(client, settings.timing, run.requests)
        try:
            async with asyncio.timeout(_budget_s(plan, settings.timing)):
                await _type_regions(replayer, plan, run)
        except TimeoutError:
            run.errors.append("the replay took too long and was stopped (is the server answering?)")
        finally:
            run.errors += replayer.problems
        run.server_stats = await client.stats()
        if sim is not None:
            await asyncio.sleep(0.3)  # let cancelled upstream calls reach their final outcome
            run.sim_records = _slim(await sim.take_records())
            if settings.probes:
                uri = f"file:///bench/probe/{source.name}"
                run.probes = await replayer.probe(
                    uri, source.language_id, source.text, settings.probes, settings.probe_gap_s
                )
                await asyncio.sleep(0.1)
                run.probe_records = _slim(await sim.take_records())
    except ServerGone as error:
        run.errors.append(str(error))
    except Exception as error:
        logger.exception("file run failed")
        run.errors.append(f"{type(error).__name__}: {error}")
        if client is not None:
            run.errors.append(client.exit_detail())
    finally:
        if sim is not None and run.sim_records is None:
            try:
                run.sim_records = _slim(await sim.take_records())
            except Exception as error:
                run.errors.append(f"could not read the simulator's records: {error}")
        if client is not None:
            run.messages = list(client.messages)
            await client.shutdown()
        run.duration_s = time.monotonic() - run.started_at
    return run


async def _type_regions(replayer: Replayer, plan: FilePlan, run: FileRun) -> None:
    source = plan.source
    uri = f"file:///bench/{source.name}"
    for index, (region, intervals) in enumerate(zip(plan.regions, plan.intervals, strict=True)):
        progress = RegionProgress(region.text(source.text))
        try:
            await replayer.type_region(
                uri,
                source.language_id,
                source.text[: region.start],
                source.text[region.end :],
                progress,
                intervals,
                index,
            )
        finally:
            run.count(progress)


async def run_profile(
    profile: str,
    plans: Sequence[FilePlan],
    modes: Sequence[str],
    truth: list[Path],
    settings: RunSettings,
    tls: bool,
    seed: int,
    live: bool,
    progress: Any = None,
    faults: bool = False,
) -> list[FileRun]:
    """Every file in every mode against one simulator (or the live providers); with `faults`, the
    simulator injects the fault mix and a second one serves as the GPU tier."""
    runs: list[FileRun] = []
    sim: SimRunner | None = None
    gpu: SimRunner | None = None
    sim_log = settings.log_dir / f"sim-{profile}.log"
    extra = ("--fault-mix", FAULT_MIX) if faults else ()
    try:
        if not live:
            sim = await SimRunner.start(profile, truth, tls, seed, sim_log, extra, settings.rtt_ms)
            if faults:
                gpu_log = settings.log_dir / "sim-gpu-tier.log"
                gpu_args = ("--model", GPU_SIM_MODEL)
                gpu = await SimRunner.start("gpu", truth, tls, seed, gpu_log, gpu_args, settings.rtt_ms)
        for plan in plans:
            # Modes alternate file by file, so drift on a noisy machine hits both alike.
            for mode in modes:
                if sim is not None and not sim.alive():
                    await sim.stop()
                    sim = await SimRunner.start(profile, truth, tls, seed, sim_log, extra, settings.rtt_ms)
                run = await run_file(plan, profile, mode, sim, settings, gpu)
                if sim is not None and not sim.alive():
                    run.errors.append(f"the simulator exited; see {sim_log}")
                runs.append(run)
                if progress is not None:
                    progress(run)
    finally:
        for runner in (sim, gpu):
            if runner is not None:
                await runner.stop()
    return runs
