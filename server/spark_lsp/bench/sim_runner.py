"""Starts `spark-lsp sim` as a subprocess for the benchmark and reads its request records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx

START_TIMEOUT_S = 30.0


class SimError(RuntimeError):
    """The simulator did not start or stopped answering."""


class SimRunner:
    """One simulator process; `url`, `cert` and `model` configure the server under test."""

    def __init__(
        self, process: asyncio.subprocess.Process, ready: dict[str, Any], log: IO[bytes], log_path: Path
    ) -> None:
        self.process = process
        self.url: str = ready["url"]
        self.cert: str | None = ready.get("cert")
        models: list[str] = ready.get("models") or []
        self.model = models[0] if models else "sim-spark-coder"
        self._log = log
        self.log_path = log_path
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=self.cert) if self.cert else True
        self._control = httpx.AsyncClient(base_url=self.url, verify=verify, timeout=15.0)

    @classmethod
    async def start(
        cls,
        profile: str,
        truth: list[Path],
        tls: bool,
        seed: int,
        log_path: Path,
        extra_args: Sequence[str] = (),
        rtt_ms: float = 0.0,
    ) -> SimRunner:
        """Start the simulator playing a perfect model of `truth` with the latency of `profile`.

        `rtt_ms` puts a network's round-trip between the server under test and the simulator.
        """
        args = ["--profile", profile, "--port", "0", "--seed", str(seed), *extra_args]
        if rtt_ms > 0:
            args += ["--rtt-ms", str(rtt_ms)]
        if tls:
            args.append("--tls")
        for path in truth:
            args += ["--truth", str(path)]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "spark_lsp", "sim", *args, stdout=asyncio.subprocess.PIPE, stderr=log
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        if not line:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            log.close()
            raise SimError(f"the simulator did not start (its output is in {log_path})")
        return cls(process, json.loads(line), log, log_path)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.returncode is None

    async def records(self) -> list[dict[str, Any]]:
        """Every request record since the last clear."""
        response = await self._control.get("/sim/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    async def take_records(self) -> list[dict[str, Any]]:
        """The records so far, then forget them (so the next phase starts from none)."""
        records = await self.records()
        (await self._control.delete("/sim/requests")).raise_for_status()
        return records

    async def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL after 5 s)."""
        await self._control.aclose()
        if self.alive():
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5.0)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._log.close()
