"""The long-lived pooled HTTP/2 client every provider shares the settings of."""

from __future__ import annotations

import ssl

import httpx


def make_http_client(
    timeout_s: float, ca_bundle: str | None = None, http2: bool = True, reuse: bool = True
) -> httpx.AsyncClient:
    """A pooled client: HTTP/2 where the server offers it, connections kept for minutes.

    `reuse=False` opens a new connection per request (the benchmark's naive baseline).

    Building the SSL context reads the CA bundle from disk, so call this at start-up, not per request.
    """
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    return httpx.AsyncClient(
        http2=http2,
        verify=verify,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0), pool=min(timeout_s, 5.0)),
        limits=httpx.Limits(
            max_connections=16, max_keepalive_connections=8 if reuse else 0, keepalive_expiry=300.0
        ),
    )
