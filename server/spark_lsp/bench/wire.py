"""The `--wire` mode: where one upstream round-trip spends its time outside the model, warm and cold."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx

from spark_lsp.bench.attribution import completion_records, model_ttft_s
from spark_lsp.bench.sim_runner import SimRunner
from spark_lsp.providers.base import ModelRequest, StreamInfo
from spark_lsp.providers.cerebras import CerebrasProvider
from spark_lsp.providers.http_client import make_http_client

# Requests before these are not counted: the first ones warm up code paths and the pool.
WARM_UP = 5
# Pause between requests, so that each starts from an idle process as a keystroke's request does.
GAP_S = 0.03
# Most characters of code before the cursor in the prompt (the server sends a few KB around it).
PROMPT_CHARS = 6000
CONNECTIONS = {"pooled": True, "new connection": False}


class _Stamps:
    """When the connection wrote and read, on the clock the simulator shares."""

    def __init__(self) -> None:
        self.writes: list[float] = []
        self.reads: list[float] = []
        self.connections = 0

    def clear(self) -> None:
        self.writes.clear()
        self.reads.clear()
        self.connections = 0


class _StampedStream(httpcore.AsyncNetworkStream):
    """A network stream that stamps each read (when it completes) and write (when it starts)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, stamps: _Stamps) -> None:
        self._inner = inner
        self._stamps = stamps

    # httpcore's interface passes `timeout` through; it is not ours to replace with asyncio.timeout.
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await self._inner.read(max_bytes, timeout)
        self._stamps.reads.append(time.monotonic())
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        # Stamped before: the bytes reach the kernel within the call's first few microseconds, but the
        # call returns only after a turn of the event loop, often after the far end has answered.
        self._stamps.writes.append(time.monotonic())
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        secure = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _StampedStream(secure, self._stamps)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _StampedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend, with stamped streams."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, stamps: _Stamps) -> None:
        self._inner = inner
        self._stamps = stamps

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self._stamps.connections += 1
        return _StampedStream(await self._inner.connect_tcp(*args, **kwargs), self._stamps)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _stamp_network(http: httpx.AsyncClient, stamps: _Stamps) -> bool:
    """Put the stamping backend under httpx's pool (private attributes: False if they moved)."""
    pool = getattr(getattr(http, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        return False
    pool._network_backend = _StampedBackend(backend, stamps)  # type: ignore[union-attr]
    return True


@dataclass(frozen=True)
class WireSample:
    """One request, read until its first piece of text, then closed."""

    request_id: str
    started_at: float
    handed_to_httpx_at: float
    first_piece_at: float
    writes: tuple[float, ...]
    reads: tuple[float, ...]
    connections_opened: int


@dataclass(frozen=True)
class WireRow:
    """One way of connecting, as medians over its requests (ms)."""

    connection: str
    requests: int
    outside_ms: float
    sdk_ms: float
    client_out_ms: float
    client_in_ms: float
    far_end_ms: float
    connections_opened: int

    def to_json(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "requests": self.requests,
            "outsideMs": self.outside_ms,
            "sdkMs": self.sdk_ms,
            "clientOutMs": self.client_out_ms,
            "clientInMs": self.client_in_ms,
            "farEndAndKernelMs": self.far_end_ms,
            "connectionsOpened": self.connections_opened,
        }


def _prompt(path: Path) -> str:
    """A fill-in-the-middle prompt cut at a line start in the file, so the perfect model has text to add."""
    text = path.read_text(encoding="utf-8", errors="replace")
    cut = text.rfind("\n", 0, min(len(text) // 2, PROMPT_CHARS)) + 1
    suffix = text[cut:][: PROMPT_CHARS // 2]
    return f"<|fim_prefix|>{text[:cut]}<|fim_suffix|>{suffix}<|fim_middle|>"


async def _sample(
    provider: CerebrasProvider, request: ModelRequest, handed: list[float], stamps: _Stamps
) -> WireSample | None:
    info = StreamInfo()
    handed.clear()
    stamps.clear()
    started = time.monotonic()
    stream = provider.stream(request, info)
    try:
        async for _piece in stream:
            first = time.monotonic()
            break
        else:
            return None
    finally:
        await stream.aclose()
    request_id = info.headers.get("x-request-id")
    if request_id is None or not handed:
        return None
    return WireSample(
        request_id, started, handed[0], first, tuple(stamps.writes), tuple(stamps.reads), stamps.connections
    )


async def measure(sim: SimRunner, reuse: bool, count: int, prompt: str) -> list[WireSample]:
    """`count` sequential streaming requests through the real provider (SDK, httpx, TLS, HTTP/2)."""
    http = make_http_client(10.0, sim.cert, reuse=reuse)
    handed: list[float] = []

    async def on_request(_request: httpx.Request) -> None:
        handed.append(time.monotonic())

    http.event_hooks = {"request": [on_request], "response": []}
    stamps = _Stamps()
    if not _stamp_network(http, stamps):
        print("spark-lsp bench --wire: httpx's pool has moved; no request can be split", file=sys.stderr)
    provider = CerebrasProvider(http, "sim-key", sim.url)
    samples: list[WireSample] = []
    try:
        await provider.warm()
        for _ in range(count):
            request = ModelRequest(model=sim.model, max_tokens=16, prompt=prompt, temperature=0.0)
            sample = await _sample(provider, request, handed, stamps)
            if sample is not None:
                samples.append(sample)
            await asyncio.sleep(GAP_S)
    finally:
        await provider.aclose()
    return samples[WARM_UP:]


def _split(sample: WireSample, record: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """Outside, ours on the way out, ours on the way back, and the rest (seconds) of one request.

    Ours on the way out ends when the last write before the simulator's handler started begins (for a
    new connection, after the handshake): over HTTP/2 the handler starts on the request's headers, and
    the body's transfer counts as the model's time. Ours on the way back starts with the first read
    after the model's first token. The rest is the far end's stack and the kernel.
    """
    outside = (sample.first_piece_at - sample.started_at) - model_ttft_s(record)
    sent = [t for t in sample.writes if t <= float(record["started_at"])]
    received = [t for t in sample.reads if t >= float(record["first_token_at"])]
    if not sent or not received:
        return None
    out = sent[-1] - sample.started_at
    back = sample.first_piece_at - received[0]
    return outside, out, back, outside - out - back


def summarise(connection: str, samples: Sequence[WireSample], records: Sequence[dict[str, Any]]) -> WireRow:
    """Join samples with the simulator's records (by `x-request-id`) and take medians."""
    by_id = {record.get("id"): record for record in completion_records(records)}
    columns: list[list[float]] = [[], [], [], [], []]
    for sample in samples:
        record = by_id.get(sample.request_id)
        if record is None or record.get("first_token_at") is None:
            continue
        split = _split(sample, record)
        if split is None:
            continue
        in_sdk = sample.handed_to_httpx_at - sample.started_at
        for column, seconds in zip(columns, (*split, in_sdk), strict=True):
            column.append(seconds * 1000.0)
    opened = sum(sample.connections_opened for sample in samples)

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2) if values else float("nan")

    outside, out, back, rest, sdk = (median(column) for column in columns)
    return WireRow(connection, len(columns[0]), outside, sdk, out, back, rest, opened)


async def run_wire(
    paths: Sequence[Path], profile: str, count: int, log_dir: Path, rtt_ms: float = 0.0
) -> list[WireRow]:
    """Measure pooled and new-connection round-trips against one simulator over TLS."""
    log_path = log_dir / f"sim-{profile}-wire.log"
    sim = await SimRunner.start(profile, list(paths), True, 7, log_path, rtt_ms=rtt_ms)
    rows = []
    try:
        prompt = _prompt(paths[0])
        for connection, reuse in CONNECTIONS.items():
            samples = await measure(sim, reuse, count + WARM_UP, prompt)
            rows.append(summarise(connection, samples, await sim.take_records()))
    finally:
        await sim.stop()
    return rows


def render_wire(rows: Sequence[WireRow]) -> str:
    """A table of the rows, and how much a pooled connection saves."""
    lines = [
        "Time outside the model per upstream round-trip (medians, ms)",
        f"{'connection':<16}{'requests':>9}{'outside':>9}{'in SDK':>8}{'ours out':>10}{'ours back':>11}"
        f"{'far end':>9}{'opened':>8}",
    ]
    for row in rows:
        lines.append(
            f"{row.connection:<16}{row.requests:>9}{row.outside_ms:>9.2f}{row.sdk_ms:>8.2f}"
            f"{row.client_out_ms:>10.2f}{row.client_in_ms:>11.2f}{row.far_end_ms:>9.2f}{row.connections_opened:>8}"
        )
    pooled, new = (next((r for r in rows if r.connection == c), None) for c in CONNECTIONS)
    if pooled is not None and new is not None and new.outside_ms > 0:
        saved = 100 * (1 - pooled.outside_ms / new.outside_ms)
        lines.append(f"pooled spends {saved:.0f}% less time outside the model than a new connection")
    lines.append(
        "ours out: from the call until the request's last write begins (in SDK: until the SDK hands "
        "it to httpx); ours back: from reading the first token's bytes to the first piece of text; "
        "far end: the rest (the simulator's TLS and HTTP/2 stack, and the kernel); opened: connections "
        "these requests opened."
    )
    return "\n".join(lines)
