"""End to end: exit paths, trace logging, and keys that never reach logs or stats."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartClient, inline_params, open_document, server_env, stats
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _serve(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "spark_lsp", "serve", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _initialize(server: subprocess.Popen[bytes], process_id: int | None = None) -> None:
    assert server.stdin is not None
    params = {"capabilities": {}, "processId": process_id}
    server.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}))
    server.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    server.stdin.flush()


def test_shutdown_then_exit_ends_the_process_quickly(sim: SimProcess) -> None:
    sim.script({"text": "a + b  # " + "word " * 400, "tokens_per_second": 20})
    server = _serve(server_env(sim))
    assert server.stdin is not None
    _initialize(server)
    text = "def add(a, b):\n    return \n"
    doc = {"uri": "file:///x.py", "languageId": "python", "version": 1, "text": text}
    server.stdin.write(
        _frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": doc}})
    )
    position = {"line": 1, "character": 11}
    request = {"textDocument": {"uri": "file:///x.py"}, "position": position, "context": {"triggerKind": 1}}
    server.stdin.write(
        _frame({"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion", "params": request})
    )
    server.stdin.flush()
    sim.wait_for(lambda records: any(r["outcome"] == "in_progress" for r in records), 10.0)

    started = time.monotonic()
    server.stdin.write(_frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
    server.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    server.stdin.flush()
    assert server.wait(timeout=10) == 0
    assert time.monotonic() - started < 1.5  # a second, with slack for a loaded machine
    records = sim.wait_for(lambda rs: all(r["outcome"] != "in_progress" for r in rs), 3.0)
    assert records[-1]["outcome"] == "client_disconnected"


def test_closing_stdin_ends_the_server() -> None:
    server = _serve(server_env(None))
    _initialize(server)
    time.sleep(0.3)
    assert server.stdin is not None
    server.stdin.close()
    assert server.wait(timeout=10) == 0


def test_the_server_exits_when_its_parent_process_dies() -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    server = _serve(server_env(None))
    _initialize(server, process_id=parent.pid)
    parent.wait()
    # stdin stays open on purpose: only the processId watchdog can end the server.
    assert server.wait(timeout=15) == 0


async def test_keys_never_reach_logs_or_stats_and_trace_logging_announces_itself(
    sim: SimProcess, start_client: StartClient, tmp_path: Path
) -> None:
    secret = "csk-SECRET-1234567890abcdef"
    sim.script({"text": "a + b", "fault": {"type": "status", "status": 500}}, {"text": "a + b"})
    log_file = tmp_path / "server.log"
    env = server_env(sim, CEREBRAS_API_KEY=secret, SPARK_LSP_LOG_FILE=str(log_file))
    client = await start_client(env, options={"logLevel": "trace", "routing": {"fallback": False}})
    open_document(client, "file:///k.py", "x = ")
    await client.text_document_inline_completion_async(inline_params("file:///k.py", 0, 4))
    open_document(client, "file:///k2.py", "y = ")
    await client.text_document_inline_completion_async(inline_params("file:///k2.py", 0, 4))

    report = json.dumps(await stats(client))
    assert secret not in report
    messages = " ".join(m.message for m in client.messages)
    assert secret not in messages
    log = log_file.read_text()
    assert "trace logging is ON" in log
    assert "prompt for file:///k2.py" in log  # prompts are logged at trace level only
    assert secret not in log
    # The SDK sends the key in a header; make sure even debug output of the HTTP stack is scrubbed.
    assert "***" in log or "Authorization" not in log


async def test_logs_can_go_to_the_client_with_their_levels(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim), args=("--log-to-client",))
    for _ in range(200):
        if any("tier health changed" in m.message for m in client.log_messages):
            break
        await asyncio.sleep(0.02)
    lines = [m for m in client.log_messages if "tier health changed" in m.message]
    assert lines and all(m.type == types.MessageType.Info for m in lines)
