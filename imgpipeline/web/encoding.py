"""How the app compresses what it sends: gzip at one level, for the middleware (pages, program
lists, downloads) and for the API's recommendations, which the advice processes compress
themselves (``web.advisors``) and the server keeps compressed (``WebState.advise_json``), so a
client asking for gzip (httpx and browsers do) costs the server no compression of its own."""

from __future__ import annotations

import zlib

# Judgement: speed over size. The result page is ~0.5 MB of text, an API answer ~250 KB of JSON:
# level 3 writes one in about 1.3 ms (22 KB), level 9 (zlib's default) in about 10 ms (16 KB).
GZIP_LEVEL = 3
GZIP_MINIMUM_SIZE = 2048          # smaller answers go as they are
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip stream, as the middleware writes it


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a request's Accept-Encoding asks for gzip: the test Starlette's GZipMiddleware
    applies, so an answer the route compresses is sent to exactly the clients the middleware
    would have compressed it for."""
    return "gzip" in accept_encoding


def encoded(body: bytes, gzip: bool) -> bytes:
    """``body`` as sent: with ``gzip``, a gzip stream at ``GZIP_LEVEL`` (what the middleware
    sends of it); else as it is."""
    return zlib.compress(body, GZIP_LEVEL, _GZIP_WBITS) if gzip else body
