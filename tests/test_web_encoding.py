"""The API's gzip streams (``web.encoding``): what any client's zlib inflates, as small as the
middleware's."""

from __future__ import annotations

import gzip
import zlib

import orjson

from imgpipeline.web.encoding import GZIP_LEVEL, accepts_gzip, encoded


def _answer_like() -> bytes:
    """JSON with the repetition of a recommendation's list (texts repeated across programs)."""
    rows = [{"acgme_id": f"140{i:07d}", "p_interview": i / 997, "basis": "stated", "evidence": f"FREIDA lists {i % 7} visa kinds"} for i in range(2000)]
    return orjson.dumps({"list": rows})


def test_a_gzip_answer_inflates_to_the_body_with_the_standard_library() -> None:
    body = _answer_like()
    sent = encoded(body, gzip=True)
    assert sent[:2] == b"\x1f\x8b"                                  # a gzip stream's magic bytes
    assert zlib.decompress(sent, wbits=31) == body                  # what httpx and browsers do
    assert gzip.decompress(sent) == body
    assert len(sent) <= 1.2 * len(zlib.compress(body, GZIP_LEVEL, 31))   # about the middleware's size


def test_an_answer_not_asked_compressed_is_the_body_itself() -> None:
    body = _answer_like()
    assert encoded(body, gzip=False) is body
    assert accepts_gzip("gzip, deflate, br") and not accepts_gzip("identity")
