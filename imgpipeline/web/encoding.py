"""How the app compresses what it sends: gzip streams, for the middleware (pages, program
lists, downloads) and for the API's recommendations, which the advice processes compress
themselves (``web.advisors``) and the server keeps compressed (``WebState.advise_json``), so a
client asking for gzip (httpx and browsers do) costs the server no compression of its own.

The API's recommendations are compressed by ISA-L (``isal``: the same gzip format, which any
client inflates with zlib), five times faster than zlib at the same size: the compression is
part of every new recommendation a client asking for gzip waits for. The middleware, Starlette's,
compresses with the standard library's zlib."""

from __future__ import annotations

import zlib

from isal import isal_zlib

# Judgement: speed over size. The result page is ~0.5 MB of text, an API answer ~250-300 KB of
# JSON: zlib level 3 writes one answer in about 1.0 ms (13x smaller), level 9 (zlib's default)
# in about 10 ms. ISA-L level 1 writes it in about 0.2 ms, as small as zlib level 3 (60 answers
# of the bench's applicants, 2026-12-01: docs/benchmarks.md, "Web API: gzip by ISA-L").
GZIP_LEVEL = 3                    # the middleware's (zlib)
API_GZIP_LEVEL = 1                # the API's recommendations (ISA-L: levels 0-3)
GZIP_MINIMUM_SIZE = 2048          # smaller answers go as they are
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip stream, as the middleware writes it


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a request's Accept-Encoding asks for gzip: the test Starlette's GZipMiddleware
    applies, so an answer the route compresses is sent to exactly the clients the middleware
    would have compressed it for."""
    return "gzip" in accept_encoding


def encoded(body: bytes, gzip: bool) -> bytes:
    """``body`` as sent: with ``gzip``, a gzip stream (ISA-L at ``API_GZIP_LEVEL``); else as
    it is."""
    return isal_zlib.compress(body, API_GZIP_LEVEL, _GZIP_WBITS) if gzip else body
