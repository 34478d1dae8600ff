"""Ask a language server what it advertises: initialize, read the capabilities, shut down."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Sequence
from typing import IO, Any


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def _receive(stream: IO[bytes]) -> dict[str, Any]:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if not length:
        raise RuntimeError("the server closed its output")
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def server_capabilities(command: Sequence[str], env: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
    """The `capabilities` of the initialize result, as JSON."""
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None and process.stdout is not None
    # A server that never answers must not hang the test run.
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        capabilities = {"textDocument": {"inlineCompletion": {}}, "workspace": {"configuration": False}}
        _send(
            process.stdin,
            {
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": capabilities},
            },
        )
        while (message := _receive(process.stdout)).get("id") != 1 or "method" in message:
            pass  # notifications and the server's own requests before the answer
        result: dict[str, Any] = message["result"]["capabilities"]
        _send(process.stdin, {"id": 2, "method": "shutdown"})
        _send(process.stdin, {"method": "exit"})
        process.wait(timeout=timeout)
        return result
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
