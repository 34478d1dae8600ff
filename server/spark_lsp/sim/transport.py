"""Aborts the TCP connection under an ASGI response, for the drop-connection fault."""

from __future__ import annotations

import asyncio

from spark_lsp.sim.asgi_io import Send


def abort_connection(send: Send) -> bool:
    """Abort the socket behind ``send``; False if it cannot be reached.

    ASGI gives an app no handle on its connection, so this walks hypercorn's objects: ``send`` is
    bound to an ``HTTPStream`` whose ``send`` is bound to the HTTP/1.1 or HTTP/2 protocol, whose ``send``
    is bound to the ``TCPServer`` that owns the ``asyncio.StreamWriter``.  Aborting (not closing) the
    transport drops the connection without a clean TLS or HTTP/2 shutdown, like a crashed upstream.
    """
    target: object = send
    for _ in range(4):
        owner = getattr(target, "__self__", None)
        if owner is None:
            return False
        writer = getattr(owner, "writer", None)
        if isinstance(writer, asyncio.StreamWriter):
            writer.transport.abort()
            return True
        target = getattr(owner, "send", None)
    return False
