"""End to end: `spark-lsp serve --tcp`, and robustness to requests for unknown documents."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import StartClient, inline_params, server_env
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _send(sock: socket.socket, message: dict[str, object]) -> None:
    body = json.dumps(message).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _receive(sock: socket.socket) -> dict[str, object]:
    header = b""
    while not header.endswith(b"\r\n\r\n"):
        header += sock.recv(1)
    length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    result: dict[str, object] = json.loads(body)
    return result


def test_serve_over_tcp_answers_initialize() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spark_lsp", "serve", "--tcp", f"127.0.0.1:{port}"],
        env=server_env(None),
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with sock:
            _send(sock, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
            response = _receive(sock)
            while "id" not in response:  # notifications (log messages) may come first
                response = _receive(sock)
            capabilities = response["result"]["capabilities"]  # type: ignore[index]
            assert capabilities["inlineCompletionProvider"] is not None  # type: ignore[index]
            assert capabilities["positionEncoding"] == "utf-16"  # type: ignore[index]
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_requests_for_documents_that_are_not_open_get_empty_results(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim))
    result = await client.text_document_inline_completion_async(inline_params("file:///nowhere.py", 3, 7))
    assert result is None
    assert sim.completion_requests() == []


async def test_positions_past_the_end_are_clamped(sim: SimProcess, start_client: StartClient) -> None:
    from tests.e2e.conftest import open_document

    sim.script({"text": "1"})
    client = await start_client(server_env(sim))
    open_document(client, "file:///clamp.py", "x = ")
    result = await client.text_document_inline_completion_async(inline_params("file:///clamp.py", 40, 99))
    assert result is not None and [item.insert_text for item in result.items] == ["1"]
    assert sim.completion_requests()[0]["prompt"].startswith("<|fim_prefix|>x = <|fim_suffix|>")
