"""The applicant's web page and the JSON API over the current published version (issue 14).

FastAPI with server-rendered Jinja2 templates and plain forms: no JavaScript build step, no CDN
(the page's CSS and Swagger UI's assets are served from installed packages). It reads only the
published version ``current`` points to, resolved on every request: ``load_published`` and
``load_version_data`` cache per version folder, so a refresh's switch is picked up by the next
request. Imports neither Prefect, Great Expectations nor scikit-learn.

This module builds the app (its state, mounts, error handlers and middleware); the routes are
in ``pages`` (the applicant's pages), ``downloads`` (``/recommend.{fmt}``) and ``api`` (the
JSON API), sharing ``state.WebState`` at ``app.state.web``.

Run it with ``imgpipeline serve`` (or ``make app``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgpipeline.advice import compiled
from imgpipeline.advice.published import NotPublished
from imgpipeline.settings import Settings
from imgpipeline.web import api, downloads, pages
from imgpipeline.web.advisors import AdviceLost
from imgpipeline.web.encoding import GZIP_LEVEL, GZIP_MINIMUM_SIZE
from imgpipeline.web.state import HERE, WebState, problems_json

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024        # a profile is well under 2 KB


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse a request body over ``limit`` bytes with 413: by its Content-Length at once, or
    while it streams in (chunked bodies carry no length)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(send, self.limit)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": [{"field": "body", "message": f"request body over {limit} bytes"}]}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def _advisors(app: FastAPI) -> AsyncIterator[None]:
    """The advice processes started with the server (each reads the version as it starts,
    while the server already answers) and stopped with it."""
    advisors = app.state.web.advisors
    if advisors is not None:
        advisors.start_warming()
    try:
        yield
    finally:
        if advisors is not None:
            advisors.close()


def create_app(settings: Settings | None = None, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The app over ``settings``' processed folder (its ``current`` version, resolved per request)."""
    app = FastAPI(
        lifespan=_advisors,
        title="imgpipeline",
        summary="Which US internal-medicine programs an IMG should apply to, each program's chance of interviewing them, and why.",
        version="1",
        docs_url=None, redoc_url=None,
    )
    try:  # mounted before /static, which would otherwise take /static/swagger/...
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
        has_swagger = True
    except ImportError:  # the OpenAPI document is still at /openapi.json
        has_swagger = False
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.web = WebState(settings or Settings(), has_swagger)
    # A server advises many applicants: the outcome recursion compiled (the same numbers).
    compiled.install()
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(NotPublished, _not_published)
    app.add_exception_handler(AdviceLost, _advice_lost)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _crash)
    app.include_router(pages.router)
    app.include_router(downloads.router)
    app.include_router(api.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # The API's recommendations come compressed from the advice processes (``web.encoding``):
    # the middleware passes an answer with its Content-Encoding set as it is.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE, compresslevel=GZIP_LEVEL)
    app.add_middleware(api.RecommendPath)   # inside the body cap, before the rest (its docstring)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the profile's nested models as components."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    doc.setdefault("components", {}).setdefault("schemas", {}).update(api.PROFILE_DEFS)
    app.openapi_schema = doc
    return doc


# --- errors: a field named, never a stack trace -----------------------------------------------
def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return request.app.state.web.page(request, "error.html", status, title=title, message=message)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [(".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")) or "request", e["msg"]) for e in exc.errors()]
    return JSONResponse(problems_json(problems), status_code=422)


async def _not_published(request: Request, exc: NotPublished) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": [{"field": "version", "message": str(exc)}]}, status_code=503)
    return _error_page(request, 503, "Nothing published yet", str(exc))


async def _advice_lost(request: Request, exc: AdviceLost) -> Response:
    """An advice process died (``web.advisors``): this request is lost, new processes start."""
    log.error("request %s lost its advice process: %s", request.url.path, exc)
    message = "the process computing this recommendation stopped; new ones are starting: ask again"
    return JSONResponse({"detail": [{"field": "server", "message": message}]}, status_code=503, headers={"Retry-After": "5"})


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": [{"field": "path", "message": str(exc.detail)}]}, status_code=exc.status_code)
    return _error_page(request, exc.status_code, f"{exc.status_code}", str(exc.detail))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("request %s failed", request.url.path)
    if _is_api(request):
        return JSONResponse({"detail": [{"field": "server", "message": "internal error (logged on the server)"}]}, status_code=500)
    return _error_page(request, 500, "Something went wrong", "internal error (logged on the server)")
