"""How the app is served: uvicorn on uvloop's event loop with httptools' HTTP parser (the C
implementations uvicorn's "standard" install uses: about 1-2 ms less server CPU per request
than asyncio's loop with the pure-Python h11), TCP_NODELAY set on every connection.

asyncio sets TCP_NODELAY on a connection only when its socket's ``proto`` is IPPROTO_TCP. uvicorn
with one worker listens on a socket from ``loop.create_server(host, port)`` (proto 6: set); with
``--workers`` it binds the socket itself (``socket.socket(family)``, proto 0), so the accepted
connections keep Nagle's algorithm on. A response is written in two sends (the head, then the
body): the second waits for the client's ACK of the first, which a client delays up to 40 ms.
Every response then took at least 40 ms with 2 workers. ``NoDelayHttpTools`` sets the option
itself, whatever the socket's origin; ``imgpipeline serve``, the tests and ``python -m
bench.web`` use it (``uvicorn --http imgpipeline.web.server:NoDelayHttpTools --loop uvloop``).

``imgpipeline serve`` runs one server process: the second core serves through the advice
processes (``web.advisors``), which take requests, not connections, from one queue."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "imgpipeline.web.server:NoDelayHttpTools"
LOOP = "uvloop"


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """TCP_NODELAY on the transport's TCP socket; False when it has none (a Unix socket)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return True


class NoDelayHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, TCP_NODELAY on every connection it serves."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
