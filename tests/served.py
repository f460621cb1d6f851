"""The web app served for real: uvicorn on a free 127.0.0.1 port in a background thread, as
``imgpipeline serve`` serves it (its HTTP protocol), for the tests that speak HTTP to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from imgpipeline.settings import Settings
from imgpipeline.web.app import create_app
from imgpipeline.web.server import HTTP_PROTOCOL, LOOP


@contextmanager
def serve_app(settings: Settings, start_within: float = 60.0) -> Iterator[str]:
    """The app over ``settings`` served until the block ends; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, http=HTTP_PROTOCOL, loop=LOOP, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="web-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the web app did not start within {start_within:.0f} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
