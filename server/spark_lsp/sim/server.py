"""Runs the simulator's ASGI app under hypercorn on loopback, in-process (``start_sim``) or from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import cast

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.typing import ASGIFramework
from hypercorn.utils import wrap_app

from spark_lsp.sim.app import SimApp
from spark_lsp.sim.config import SimConfig
from spark_lsp.sim.delay_proxy import DelayProxy
from spark_lsp.sim.state import SimState
from spark_lsp.sim.tls import write_self_signed

log = logging.getLogger("spark_lsp.sim")


class RunningSim:
    """A listening simulator.  ``url`` has no trailing slash and no ``/v1``: it is the SDK's base URL."""

    def __init__(
        self,
        *,
        url: str,
        port: int,
        cert_path: Path | None,
        state: SimState,
        shutdown: asyncio.Event,
        task: asyncio.Task[None],
        temp_dir: Path | None,
        proxy: DelayProxy | None = None,
    ) -> None:
        self.url = url
        self.port = port
        self.cert_path = cert_path
        self.state = state
        self._shutdown = shutdown
        self._task = task
        self._temp_dir = temp_dir
        self._proxy = proxy

    @property
    def config(self) -> SimConfig:
        return self.state.config

    @property
    def models(self) -> tuple[str, ...]:
        return self.state.models

    def listening_event(self) -> dict[str, object]:
        """The one JSON line the CLI prints once listening."""
        return {
            "event": "listening",
            "url": self.url,
            "cert": None if self.cert_path is None else str(self.cert_path),
            "profile": self.state.latency.name,
            "models": list(self.models),
            "rttMs": self.config.rtt_ms,
        }

    async def wait_closed(self) -> None:
        """Block until the server stops (after ``stop()`` or a fatal error)."""
        await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Stop listening; in-flight responses get ``graceful_timeout_s`` to finish, then are cancelled."""
        self._shutdown.set()
        try:
            if self._proxy is not None:
                await self._proxy.close()
            await self._task
        finally:
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
                self._temp_dir = None

    async def __aenter__(self) -> RunningSim:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def start_sim(config: SimConfig | None = None) -> RunningSim:
    """Start a simulator in the running event loop; it accepts connections as soon as this returns.

    Use ``async with await start_sim(cfg) as sim:`` or ``sim_running(cfg)``, or call ``sim.stop()``.
    """
    config = config or SimConfig()
    state = SimState.from_config(config)
    hyper = HypercornConfig()
    host = f"[{config.host}]" if ":" in config.host else config.host
    # With a round-trip to add, the proxy takes the asked-for port and the server a free one behind it.
    hyper.bind = [f"{host}:{0 if config.rtt_ms > 0 else config.port}"]
    hyper.include_server_header = False
    hyper.accesslog = None
    hyper.errorlog = log
    # Clients keep pooled connections for a while; hypercorn's 5 s default would close them under tests.
    hyper.keep_alive_timeout = 75.0
    # hypercorn ends an HTTP/2 connection after 1000 requests with a GOAWAY that names the last
    # request as processed, then drops it: the client gets a failed request that a real server
    # (which finishes what its GOAWAY names, RFC 9113 6.8) never causes. No limit, then.
    hyper.keep_alive_max_requests = 2**62
    hyper.graceful_timeout = config.graceful_timeout_s
    temp_dir: Path | None = None
    cert_path: Path | None = None
    if config.tls:
        temp_dir = Path(tempfile.mkdtemp(prefix="spark-lsp-sim-"))
        files = write_self_signed(temp_dir, extra_hosts=(config.host,))
        hyper.certfile = str(files.cert)
        hyper.keyfile = str(files.key)
        cert_path = files.cert
        if config.cert_out is not None:
            config.cert_out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.cert, config.cert_out)
            cert_path = config.cert_out
    sockets = hyper.create_sockets()
    listening = [*sockets.secure_sockets, *sockets.insecure_sockets]
    for sock in listening:
        # Listen now so connections made before hypercorn's accept loop starts wait in the backlog.
        sock.listen(hyper.backlog)
    port = int(listening[0].getsockname()[1])
    proxy: DelayProxy | None = None
    if config.rtt_ms > 0:
        proxy = DelayProxy(config.host, port, config.rtt_ms / 1000.0)
        try:
            await proxy.start(config.port)
        except OSError:
            for sock in listening:
                sock.close()
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        port = proxy.port
    scheme = "https" if config.tls else "http"
    shutdown = asyncio.Event()
    app = wrap_app(cast(ASGIFramework, SimApp(state)), hyper.wsgi_max_body_size, "asgi")
    task = asyncio.create_task(
        worker_serve(app, hyper, sockets=sockets, shutdown_trigger=shutdown.wait), name="spark-lsp-sim"
    )
    return RunningSim(
        url=f"{scheme}://{host}:{port}",
        port=port,
        cert_path=cert_path,
        state=state,
        shutdown=shutdown,
        task=task,
        temp_dir=temp_dir,
        proxy=proxy,
    )


@contextlib.asynccontextmanager
async def sim_running(config: SimConfig | None = None) -> AsyncIterator[RunningSim]:
    """``async with sim_running(SimConfig(profile="instant")) as sim:`` for tests."""
    sim = await start_sim(config)
    try:
        yield sim
    finally:
        await sim.stop()
