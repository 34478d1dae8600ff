"""End to end: bad input gets an LSP error or an empty result, and the server keeps serving correctly."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

from tests.e2e.conftest import server_env  # noqa: E402


class RawClient:
    """Speaks JSON-RPC over the server's stdio byte by byte, so tests can send anything at all."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spark_lsp", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._responses: dict[Any, dict[str, Any]] = {}
        self._ready = threading.Condition()
        self._next_id = 100
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = stream.read(1)
                if not byte:
                    return
                header += byte
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            message = json.loads(stream.read(length))
            if "id" in message and "method" not in message:
                with self._ready:
                    self._responses[message["id"]] = message
                    self._ready.notify_all()
            elif "id" in message:  # a request from the server (configuration, progress): answer null
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message).encode())

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 10.0) -> dict[str, Any]:
        self._next_id += 1
        msg_id = self._next_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        with self._ready:
            if not self._ready.wait_for(lambda: msg_id in self._responses, timeout):
                raise AssertionError(f"no answer to {method}")
            return self._responses.pop(msg_id)

    def close(self) -> int:
        self.request("shutdown", None)
        self.notify("exit", None)
        return self.process.wait(timeout=10)


def _open(client: RawClient, uri: str, text: str, version: int = 1) -> None:
    doc = {"uri": uri, "languageId": "python", "version": version, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": doc})


def _inline(client: RawClient, uri: str, line: int, character: int) -> dict[str, Any]:
    params = {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": 1},
    }
    return client.request("textDocument/inlineCompletion", params)


def _insert_text(response: dict[str, Any]) -> list[str]:
    result = response.get("result")
    return [item["insertText"] for item in result["items"]] if result else []


@pytest.fixture
def client(sim: SimProcess) -> Any:
    sim.script({"text": "ok", "repeat": -1})
    raw = RawClient(server_env(sim))
    raw.request("initialize", {"capabilities": {"textDocument": {"inlineCompletion": {}}}})
    raw.notify("initialized", {})
    yield raw
    assert raw.close() == 0
    assert not any(b"Traceback" in line for line in raw.stderr), b"".join(raw.stderr).decode()


def _still_serving(client: RawClient, uri: str = "file:///alive.py") -> None:
    _open(client, uri, "value = ")
    assert _insert_text(_inline(client, uri, 0, 8)) == ["ok"]


def test_malformed_json_and_unknown_methods(client: RawClient) -> None:
    client.send_bytes(b"{this is not json")
    client.send_bytes(b'{"jsonrpc": "2.0", "id": 7}')
    response = client.request("spark/noSuchMethod", {})
    assert response["error"]["code"] == -32601
    response = client.request("textDocument/inlineCompletion", {"position": "nowhere"})
    assert response["error"]["code"] == -32602
    _still_serving(client)


def test_positions_past_the_end_and_inside_a_surrogate_pair(client: RawClient) -> None:
    uri = "file:///emoji.py"
    _open(client, uri, "s = '😀'\n")
    assert _insert_text(_inline(client, uri, 0, 6)) == ["ok"]  # between the two halves of 😀
    assert _insert_text(_inline(client, uri, 99, 99)) == ["ok"]
    # An edit whose range splits the pair: the server keeps a valid text and stays consistent.
    change = {
        "range": {"start": {"line": 0, "character": 6}, "end": {"line": 0, "character": 7}},
        "text": "x",
    }
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}
    )
    assert _insert_text(_inline(client, uri, 0, 3)) == ["ok"]
    _still_serving(client)


def test_stale_versions_unknown_documents_and_lone_surrogates(client: RawClient) -> None:
    uri = "file:///stale.py"
    _open(client, uri, "a = 1\n", version=5)
    full = {"text": "b = 2\n"}
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [full]}
    )
    unknown = {"textDocument": {"uri": "file:///never-opened.py", "version": 2}, "contentChanges": [full]}
    client.notify("textDocument/didChange", unknown)
    client.notify("textDocument/didClose", {"textDocument": {"uri": "file:///never-opened.py"}})
    assert _inline(client, "file:///never-opened.py", 0, 0).get("result") is None
    client.send_bytes(
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": '
        b'{"uri": "file:///lone.py", "languageId": "python", "version": 1, "text": "x = \\"\\ud800\\"\\n"}}}'
    )
    assert _inline(client, "file:///lone.py", 1, 0).get("error") is None
    _still_serving(client)


def test_huge_files_nul_bytes_and_very_long_lines(client: RawClient, sim: SimProcess) -> None:
    big = "x = 1\n" * (10 * 1024 * 1024 // 6)
    _open(client, "file:///big.py", big)
    assert _insert_text(_inline(client, "file:///big.py", 900_000, 3)) == ["ok"]
    _open(client, "file:///nul.py", "a = '\x00\x00'\nb = ")
    assert _insert_text(_inline(client, "file:///nul.py", 1, 4)) == ["ok"]
    long_line = "values = [" + "1, " * 33_400 + "\n"
    _open(client, "file:///long.py", long_line)
    assert _insert_text(_inline(client, "file:///long.py", 0, 50_000)) == ["ok"]
    prompts = [r["prompt"] for r in sim.completion_requests()]
    assert all(len(prompt) < 40_000 for prompt in prompts)  # windows, never whole files
    _still_serving(client)


def test_settings_of_the_wrong_types_are_reported_not_fatal(sim: SimProcess) -> None:
    raw = RawClient(server_env(sim))
    options = {"inline": ["not", "an", "object"], "routing": {"deadlines": {"inline": {"totalMs": "soon"}}}}
    response = raw.request("initialize", {"capabilities": {}, "initializationOptions": options})
    assert "result" in response
    raw.notify("initialized", {})
    raw.notify("workspace/didChangeConfiguration", {"settings": {"sparkLsp": {"fastModel": 42}}})
    sim.script({"text": "ok", "repeat": -1})
    _still_serving(raw)
    assert raw.close() == 0
