"""Runs the benchmark the command line asked for and writes its table, JSON and PNG."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spark_lsp.bench.cli import MEMORY_SPEED
from spark_lsp.bench.corpus import SourceFile, corpus_paths, default_corpus_dir, load_sources
from spark_lsp.bench.events import FileRun
from spark_lsp.bench.large_file import large_python_file
from spark_lsp.bench.memory import run_memory
from spark_lsp.bench.plot import draw
from spark_lsp.bench.raw import write_raw
from spark_lsp.bench.replay import Timing
from spark_lsp.bench.report import render
from spark_lsp.bench.results import build_results
from spark_lsp.bench.runner import FAULT_MIX, GPU_SIM_MODEL, RunSettings, run_profile
from spark_lsp.bench.sim_runner import SimRunner
from spark_lsp.bench.targets import LARGE_FILE
from spark_lsp.bench.trace import FilePlan, TraceSettings, plan_file

# --quick: one short region per file, for smoke tests.
QUICK = TraceSettings(regions_per_file=1, max_lines=8, max_chars=200)
# --keystrokes: every function body, typed fast to reach N keys sooner.
MEMORY = TraceSettings(
    regions_per_file=10_000, max_lines=40, max_chars=2_000, speed=MEMORY_SPEED, windows=False
)


@dataclass(frozen=True)
class BenchOptions:
    """Everything the command line decides."""

    profiles: tuple[str, ...]
    modes: tuple[str, ...]
    paths: tuple[Path, ...]
    out: Path
    trace: TraceSettings
    live: bool
    faults: bool
    soak: bool
    large: bool
    keystrokes: int | None
    tls: bool
    probes: int
    timeout_s: float
    rtt_ms: float

    def to_json(self) -> dict[str, Any]:
        """The options as recorded in the results."""
        return {
            "profiles": list(self.profiles),
            "modes": list(self.modes),
            "files": [str(p) for p in self.paths],
            "seed": self.trace.seed,
            "regionsPerFile": self.trace.regions_per_file,
            "maxLines": self.trace.max_lines,
            "maxChars": self.trace.max_chars,
            "speed": self.trace.speed,
            "live": self.live,
            "faults": self.faults,
            "soak": self.soak,
            "large": self.large,
            "keystrokes": self.keystrokes,
            "tls": self.tls,
            "probes": self.probes,
            "timeoutS": self.timeout_s,
            "rttMs": self.rtt_ms,
        }


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    """Validate and resolve the command line."""
    if args.soak:
        if args.live:
            raise ValueError("--soak runs against the simulator only")
        args.keystrokes = args.keystrokes or 100_000
    if args.files:
        paths = list(args.files)
    else:
        corpus = args.corpus or default_corpus_dir()
        if not corpus.is_dir():
            raise ValueError(f"no corpus directory at {corpus}; pass --corpus DIR or --files FILE ...")
        paths = corpus_paths(corpus)
    paths += args.file
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"not a file: {', '.join(missing)}")
    if not paths:
        raise ValueError("no files to retype")
    trace = MEMORY if args.keystrokes else QUICK if args.quick else TraceSettings()
    trace = replace(trace, seed=args.seed)
    if args.regions is not None:
        trace = replace(trace, regions_per_file=max(1, args.regions))
    if args.max_chars is not None:
        trace = replace(trace, max_chars=max(20, args.max_chars))
    if args.speed is not None:
        if args.speed <= 0:
            raise ValueError("--speed must be greater than 0")
        trace = replace(trace, speed=args.speed)
    if args.rtt_ms < 0 or (args.rtt_ms > 0 and args.live):
        raise ValueError("--rtt-ms needs a round-trip of 0 ms or more, and the simulator (not --live)")
    if args.live:
        if not os.environ.get("CEREBRAS_API_KEY"):
            raise ValueError("--live needs CEREBRAS_API_KEY (and SPARK_LSP_FAST_MODEL) in the environment")
        profiles: tuple[str, ...] = ("live",)
    else:
        profiles = ("spark", "gpu") if args.profile == "both" else (args.profile,)
    if args.keystrokes:
        profiles = profiles[:1]
    modes = ("optimised", "naive") if args.baseline == "naive" else ("optimised",)
    if args.faults:
        if args.live or args.keystrokes:
            raise ValueError("--faults runs against the simulator only, not with --live or --keystrokes")
        modes = ("fallback", "no-fallback")
    return BenchOptions(
        profiles=profiles,
        modes=modes,
        paths=tuple(paths),
        out=args.out,
        trace=trace,
        live=args.live,
        faults=args.faults,
        soak=args.soak,
        large=args.large,
        keystrokes=args.keystrokes,
        tls=not args.no_tls,
        probes=0 if args.live else max(0, args.probes if not args.quick else min(args.probes, 3)),
        timeout_s=args.timeout,
        rtt_ms=args.rtt_ms,
    )


def _sources(options: BenchOptions) -> list[SourceFile]:
    sources = load_sources(list(options.paths))
    if options.large:
        python = [s.text for s in sources if s.language_id == "python"]
        text = large_python_file(python)
        path = options.out / LARGE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        sources.append(SourceFile(LARGE_FILE, path, text, "python"))
    return sources


def _progress(run: FileRun) -> None:
    saved = f"{100 * run.accepted / run.effort:.0f}%" if run.effort else "-"
    problems = f", {len(run.errors)} error(s)" if run.errors else ""
    print(
        f"  [{run.label}] {run.file}: {run.duration_s:.1f} s, {len(run.requests)} requests, "
        f"saved {saved}{problems}",
        file=sys.stderr,
        flush=True,
    )


async def _bench(options: BenchOptions, plans: list[FilePlan]) -> tuple[list[FileRun], dict[str, Any] | None]:
    from spark_lsp.sim.tokens import count_tokens

    timing = Timing(speed=options.trace.speed, request_timeout_s=options.timeout_s)
    settings = RunSettings(
        timing=timing, log_dir=options.out / "logs", probes=options.probes, rtt_ms=options.rtt_ms
    )
    truth = [plan.source.path for plan in plans]
    if options.keystrokes:
        profile = options.profiles[0]
        sim = gpu = None
        if not options.live:
            sim = await SimRunner.start(
                profile,
                truth,
                options.tls,
                options.trace.seed,
                settings.log_dir / f"sim-{profile}-memory.log",
                ("--fault-mix", FAULT_MIX) if options.soak else (),
                options.rtt_ms,
            )
            if options.soak:
                gpu = await SimRunner.start(
                    "gpu",
                    truth,
                    options.tls,
                    options.trace.seed,
                    settings.log_dir / "sim-gpu-tier-soak.log",
                    ("--model", GPU_SIM_MODEL),
                    options.rtt_ms,
                )
        try:
            memory, memory_run = await run_memory(
                plans, profile, options.keystrokes, sim, settings, count_tokens, gpu
            )
        finally:
            for runner in (sim, gpu):
                if runner is not None:
                    await runner.stop()
        write_raw([memory_run], options.out / "raw")
        return [], memory
    runs: list[FileRun] = []
    for profile in options.profiles:
        print(f"profile {profile}:", file=sys.stderr, flush=True)
        runs += await run_profile(
            profile,
            plans,
            options.modes,
            truth,
            settings,
            options.tls,
            options.trace.seed,
            options.live,
            _progress,
            faults=options.faults,
        )
    return runs, None


def execute(args: argparse.Namespace) -> int:
    """Run the benchmark, print the tables, write results.json and bench.png into --out."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        options = options_from_args(args)
    except ValueError as error:
        print(f"spark-lsp bench: {error}", file=sys.stderr)
        return 2
    if args.wire is not None:
        return _execute_wire(options, args.wire)
    started = time.monotonic()
    sources = _sources(options)
    plans = [plan_file(source, options.trace) for source in sources]
    runs, memory = asyncio.run(_bench(options, plans))

    from spark_lsp.sim.tokens import count_tokens

    results = build_results(runs, plans, options.to_json(), memory, time.monotonic() - started, count_tokens)
    options.out.mkdir(parents=True, exist_ok=True)
    write_raw(runs, options.out / "raw")
    json_path = options.out / "results.json"
    json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    png_path = options.out / "bench.png"
    if runs:
        draw(results, png_path)
    print(render(results))
    print(f"\nwrote {json_path}" + (f" and {png_path}" if runs else "") + f" in {results['durationS']} s")
    return 1 if results["errors"] else 0


def _execute_wire(options: BenchOptions, count: int) -> int:
    """The `--wire N` mode: print the breakdown and write wire.json into --out."""
    from spark_lsp.bench.wire import render_wire, run_wire

    if options.live or count < 1:
        print("spark-lsp bench: --wire needs N >= 1 and runs against the simulator only", file=sys.stderr)
        return 2
    profile = options.profiles[0]  # `both` starts with spark
    rows = asyncio.run(run_wire(options.paths, profile, count, options.out / "logs", options.rtt_ms))
    options.out.mkdir(parents=True, exist_ok=True)
    path = options.out / "wire.json"
    wire = {"profile": profile, "rttMs": options.rtt_ms, "rows": [r.to_json() for r in rows]}
    path.write_text(json.dumps(wire, indent=1) + "\n")
    print(render_wire(rows))
    print(f"\nwrote {path}")
    return 0 if all(row.requests > 0 for row in rows) else 1
