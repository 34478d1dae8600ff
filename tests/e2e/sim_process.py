"""Runs `spark-lsp sim` as a subprocess for end-to-end tests and talks to its control endpoints."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from typing import Any

import httpx


class SimProcess:
    """A simulator subprocess; `url` is its base URL, `cert` its certificate when it speaks TLS."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spark_lsp", "sim", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"the simulator did not start: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        ready = json.loads(line)
        self.url: str = ready["url"]
        self.cert: str | None = ready.get("cert")
        self.models: list[str] = ready.get("models", [])
        verify = ssl.create_default_context(cafile=self.cert) if self.cert else True
        self._control = httpx.Client(base_url=self.url, verify=verify, timeout=10.0)

    def reset(self) -> None:
        """Forget scripts, truth files and request records."""
        for path in ("/sim/script", "/sim/requests", "/sim/truth"):
            self._control.delete(path).raise_for_status()

    def script(self, *responses: dict[str, Any]) -> None:
        """Queue scripted answers."""
        self._control.post("/sim/script", json={"responses": list(responses)}).raise_for_status()

    def add_truth(self, name: str, text: str) -> None:
        """Register a file the perfect model continues."""
        self._control.post("/sim/truth", json={"name": name, "text": text}).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """What the simulator has been asked so far."""
        response = self._control.get("/sim/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def completion_requests(self) -> list[dict[str, Any]]:
        """Only the generation requests (not /v1/models)."""
        return [r for r in self.requests() if "completions" in r["path"]]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Poll the request records until `predicate(records)` holds; return them."""
        deadline = time.monotonic() + timeout
        records = self.requests()
        while not predicate(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"simulator never reached the expected state: {records}")
            time.sleep(0.02)
            records = self.requests()
        return records

    def stop(self) -> None:
        """End the subprocess."""
        self._control.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
