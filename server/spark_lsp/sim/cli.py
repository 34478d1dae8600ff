"""The ``spark-lsp sim`` command: runs the wire-protocol SIMULATOR until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.fault_mix import parse_fault_mix
from spark_lsp.sim.profiles import PROFILE_NAMES

DESCRIPTION = (
    "Run a SIMULATOR of the Cerebras / OpenAI-compatible API on loopback for tests and benchmarks. "
    "It is not a model: it answers from scripted responses (POST /sim/script) or from truth files, "
    "with the latency of the chosen profile."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser`` (the ``sim`` subcommand's parser)."""
    parser.description = parser.description or DESCRIPTION
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default="spark",
        help="latency profile: spark (~60 ms TTFT, ~1500 tok/s), gpu (~300 ms, ~60 tok/s), instant (tests)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS (ALPN h2 and http/1.1) with a fresh self-signed cert"
    )
    parser.add_argument(
        "--cert-out", type=Path, help="with --tls: write the PEM certificate here for clients"
    )
    parser.add_argument(
        "--truth",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="file the simulated 'perfect model' continues prompts from (repeatable)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="model name to list and accept (repeatable; default sim-spark-coder, or sim-gpu-coder for gpu)",
    )
    parser.add_argument("--ttft-ms", type=float, help="override the profile's time to first token")
    parser.add_argument("--tokens-per-second", type=float, help="override the profile's rate (0 = unlimited)")
    parser.add_argument("--seed", type=int, help="seed for the TTFT jitter and the fault mix")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="add a network round-trip of MS ms: every byte arrives MS/2 later each way, a new "
        "connection's first bytes MS more (the TCP handshake); default 0",
    )
    parser.add_argument(
        "--fault-mix",
        type=parse_fault_mix,
        default=(),
        metavar="JSON",
        help='inject faults at random into unscripted answers, e.g. \'[{"probability": 0.2, "fault": '
        '{"type": "status", "status": 429, "retry_after_s": 1}}]\' (also POST /sim/faults)',
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        profile=args.profile,
        host=args.host,
        port=args.port,
        tls=args.tls,
        cert_out=args.cert_out,
        truth_files=tuple(args.truth),
        models=tuple(args.model),
        ttft_ms=args.ttft_ms,
        tokens_per_second=args.tokens_per_second,
        seed=args.seed,
        fault_mix=args.fault_mix,
        rtt_ms=max(0.0, args.rtt_ms),
    )


def run(args: argparse.Namespace) -> int:
    """Run the simulator in the foreground: print one ``listening`` JSON line, return 0 on SIGINT/SIGTERM."""
    if args.cert_out is not None and not args.tls:
        print("spark-lsp sim: --cert-out needs --tls", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        import cryptography  # noqa: F401
        import hypercorn  # noqa: F401
    except ImportError:
        print("spark-lsp sim needs the 'sim' extra: pip install 'spark-lsp[sim]'", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config_from_args(args)))
    except OSError as error:
        print(f"spark-lsp sim: {error}", file=sys.stderr)
        return 1


async def _serve(config: SimConfig) -> int:
    # Imported here so that the language server itself never needs the simulator's dependencies.
    from spark_lsp.sim.server import start_sim

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sim = await start_sim(config)
    print(json.dumps(sim.listening_event()), flush=True)
    stopped = asyncio.ensure_future(stop.wait())
    closed = asyncio.ensure_future(sim.wait_closed())
    await asyncio.wait({stopped, closed}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    await sim.stop()
    if not stop.is_set():
        print("spark-lsp sim: the server stopped unexpectedly", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -c 'from spark_lsp.sim.cli import main; main()'``."""
    parser = argparse.ArgumentParser(prog="spark-lsp sim", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
