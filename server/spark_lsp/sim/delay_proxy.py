"""A TCP proxy in front of the simulator that adds a network's round-trip time on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("spark_lsp.sim")

# Chunks held per direction before the proxy stops reading: a receiver that does not read pushes
# back on the sender through TCP, as it would across a network.
_QUEUE_CHUNKS = 64
_READ_BYTES = 65536


class DelayProxy:
    """Listens on `port` and forwards each connection to the target, `rtt_s` of round-trip later.

    Every byte arrives half a round-trip after it was sent, in both directions, in order. A client's
    first bytes on a connection go a whole round-trip later still: through a real network, `connect`
    returns only after the TCP handshake's round-trip, while on loopback it returns at once. TLS and
    HTTP/2 pass through untouched, so their handshakes and stream resets pay the delay as they would.
    """

    def __init__(self, host: str, target_port: int, rtt_s: float) -> None:
        self.host = host
        self.target_port = target_port
        self.rtt_s = rtt_s
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> None:
        """Listen on `port` (0 picks a free one)."""
        self._server = await asyncio.start_server(self._accept, self.host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and cut every forwarded connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._forward(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.target_port)
            one_way = self.rtt_s / 2
            await _both(
                _pipe(client_reader, upstream_writer, one_way, first_extra_s=self.rtt_s),
                _pipe(upstream_reader, client_writer, one_way),
            )
        except OSError as error:
            log.debug("delay proxy: connection ended: %r", error)
        finally:
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, first_extra_s: float = 0.0
) -> None:
    """Copy `reader` to `writer`, each chunk `delay_s` after it was read; end of stream half-closes."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUE_CHUNKS)

    async def receive() -> None:
        extra = first_extra_s
        while True:
            data = await reader.read(_READ_BYTES)
            await queue.put((loop.time() + delay_s + extra, data))
            extra = 0.0
            if not data:
                return

    async def send() -> None:
        not_before = 0.0  # a later chunk never overtakes an earlier one
        while True:
            due, data = await queue.get()
            not_before = max(not_before, due)
            wait = not_before - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await _both(receive(), send())


async def _both(first: Coroutine[Any, Any, None], second: Coroutine[Any, Any, None]) -> None:
    """Run both to their end; if either fails, cancel the other and raise its error."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
