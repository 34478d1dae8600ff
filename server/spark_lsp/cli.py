"""Command line: `spark-lsp serve | sim | bench`, and logging set-up."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from spark_lsp import __version__, logs


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def _setup_logging(level: str, log_file: str | None, to_client: bool = False) -> None:
    # stdout carries the protocol on stdio: logs go to stderr (editors show it), a file, or the client.
    handler: logging.Handler
    if to_client:
        from spark_lsp.client_log import CLIENT_LOG

        handler = CLIENT_LOG
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logs.install(handler)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logs.set_level(level)


def _serve(args: argparse.Namespace) -> int:
    from spark_lsp.app import create_server

    _setup_logging(args.log_level, args.log_file, args.log_to_client)
    server = create_server()
    if args.tcp:
        host, port = args.tcp
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    from spark_lsp.sim import cli as sim_cli

    parser = argparse.ArgumentParser(prog="spark-lsp", description="An AI language server on a fast model.")
    parser.add_argument("--version", action="version", version=f"spark-lsp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the language server (LSP over stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    serve.add_argument(
        "--tcp", type=_host_port, metavar="HOST:PORT", help="listen for one client over TCP instead"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["trace", "debug", "info", "warning", "error"],
        help="trace also logs prompts and answers (your code): use it only to debug",
    )
    serve.add_argument(
        "--log-file",
        default=os.environ.get("SPARK_LSP_LOG_FILE") or None,
        help="write logs to this file instead of stderr (default: $SPARK_LSP_LOG_FILE)",
    )
    serve.add_argument(
        "--log-to-client",
        action="store_true",
        help="send logs to the editor as window/logMessage (keeps their levels) instead of stderr",
    )
    serve.set_defaults(run=_serve)

    sim = commands.add_parser(
        "sim",
        help="run the local SIMULATOR of the Cerebras/OpenAI wire protocol (for tests and benchmarks)",
        description="A latency-faithful SIMULATOR of the providers' wire protocol. It is not a model.",
    )
    sim_cli.add_arguments(sim)
    sim.set_defaults(run=sim_cli.run)

    from spark_lsp.bench import cli as bench_cli

    bench = commands.add_parser(
        "bench", help="typing-replay benchmark: the real server over LSP against the simulator"
    )
    bench_cli.add_arguments(bench)
    bench.set_defaults(run=bench_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `spark-lsp` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        args = parser.parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    result: int = args.run(args)
    return result
