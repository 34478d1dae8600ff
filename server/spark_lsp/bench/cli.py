"""The `spark-lsp bench` command line: the typing-replay benchmark's options (the work is in `command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = (
    "Replay realistic typing through the real server over LSP (stdio) against the simulator playing a "
    "perfect model, and report keystrokes saved, latency, requests and wrong suggestions."
)
# --keystrokes types this many times faster than a human (~19 ms between keys) to reach N keys sooner.
MEMORY_SPEED = 8.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to `parser` (the `bench` subcommand's parser)."""
    parser.description = parser.description or DESCRIPTION
    parser.add_argument(
        "--profile",
        choices=["spark", "gpu", "both", "instant"],
        default="both",
        help="simulator latency profile(s) to run (default both; instant is for tests)",
    )
    parser.add_argument("--quick", action="store_true", help="one short region per file (smoke test)")
    parser.add_argument("--seed", type=int, default=7, help="seed for regions and key intervals (default 7)")
    parser.add_argument(
        "--files", type=Path, nargs="+", metavar="FILE", help="retype these files instead of the corpus"
    )
    parser.add_argument(
        "--file", type=Path, action="append", default=[], metavar="FILE", help="also retype FILE (repeatable)"
    )
    parser.add_argument("--corpus", type=Path, help="corpus directory (default ../shared/corpus)")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-out"), help="output directory (default bench-out)"
    )
    parser.add_argument(
        "--baseline", choices=["naive"], help="also run the same trace with every latency optimisation off"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="use the real providers from the environment instead of the simulator",
    )
    parser.add_argument(
        "--large", action="store_true", help="add a generated ~400 KB Python file to the trace"
    )
    parser.add_argument(
        "--keystrokes",
        type=int,
        metavar="N",
        help=f"memory mode: N keys into one server, typed {MEMORY_SPEED:g}x faster; RSS after 1k and at end",
    )
    parser.add_argument("--regions", type=int, metavar="N", help="regions per file (default 1)")
    parser.add_argument(
        "--max-chars", type=int, metavar="N", help="longest region in characters (default 300)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="type X times faster than a human (default 1; tests use more)",
    )
    parser.add_argument(
        "--no-tls", action="store_true", help="plain HTTP/1.1 to the simulator instead of HTTPS"
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="fallback scenario: the fast tier answers 429 to 20%% of requests and stalls 5%% of streams; "
        "runs the trace with and without fallback to a GPU tier (a second simulator)",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        help="reliability soak: --keystrokes (default 100000) with the --faults mix and a GPU tier; samples "
        "RSS, open fds and asyncio tasks, and checks the server log for unhandled exceptions",
    )
    parser.add_argument("--probes", type=int, default=8, help="round-trip probes per file (default 8)")
    parser.add_argument(
        "--wire",
        type=int,
        metavar="N",
        help="wire mode: N requests through the provider on a pooled and on new connections, and where "
        "their time outside the model goes (SDK, our stack out and back, the far end); no typing replay",
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="put a network round-trip of MS ms between the server and the simulator (a delaying "
        "proxy; default 0, loopback's)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds before a request counts as unanswered"
    )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark (imported lazily: `spark-lsp serve` should not pay for the benchmark's imports)."""
    from spark_lsp.bench.command import execute

    return execute(args)
