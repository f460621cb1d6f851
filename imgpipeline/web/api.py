"""The JSON API over the current published version: a recommendation for a posted profile,
the program list and one program's features, and the version the API reads."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from imgpipeline.advice.profile import ApplicantProfile, ProfileError
from imgpipeline.vocabulary import PROGRAM_TIERS, US_STATES
from imgpipeline.web.encoding import accepts_gzip
from imgpipeline.web.state import REGIONS, Web, WebState, problems_json, program_or_404

ACGME_ID = re.compile(r"^140\d{7}$")

router = APIRouter()


def _profile_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile's JSON schema for the OpenAPI document, its nested models as components."""
    schema = ApplicantProfile.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return schema, defs


PROFILE_SCHEMA, PROFILE_DEFS = _profile_schema()
ERROR_SCHEMA = {"description": "A bad value: every problem with the field it is about", "content": {"application/json": {"example": problems_json([("step2ck.score", "must be between 1 and 300 (the USMLE three-digit scale), got 350")])}}}


RECOMMEND_PATH = "/api/recommend"


@router.post(
    RECOMMEND_PATH, tags=["advice"],
    summary="One applicant's recommendation (the object `imgpipeline recommend` writes to recommendation.json)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": PROFILE_SCHEMA}}}},
    responses={422: ERROR_SCHEMA, 413: {"description": "request body too large"}},
)
async def api_recommend(request: Request, web: Web) -> Response:
    """What the OpenAPI document describes. The app answers this path by ``RecommendPath``
    ahead of FastAPI's stack, with the same ``recommend_answer``."""
    return await recommend_answer(web, await request.body(), request.headers.get("accept-encoding", ""))


async def recommend_answer(web: WebState, raw: bytes, accept_encoding: str) -> Response:
    """A posted profile's answer: 422 naming every bad field (or the body, when it is not
    JSON), else the recommendation's JSON, gzip-compressed where it was computed when the
    client asks for gzip (``web.encoding``). The body is read and checked where the
    recommendation is computed (``WebState.advise_json``)."""
    gzip = accepts_gzip(accept_encoding)
    try:
        body = await web.advise_json(raw, gzip)
    except ProfileError as exc:
        return JSONResponse(problems_json(exc.problems), status_code=422)
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if gzip else None
    return Response(body, media_type="application/json", headers=headers)


class RecommendPath:
    """``POST /api/recommend`` answered as plain ASGI, ahead of FastAPI's routing, dependency
    solving and the middleware inside this one (GZip: ``recommend_answer`` compresses itself;
    the exception middleware: the app's own handlers are called here). The route above stays
    for the OpenAPI document and answers the same. Measured on the API bench (8 clients,
    alternating 10-15 s runs): the server's user CPU per request 0.68-0.70 to 0.39 ms for a
    repeated profile, 2.3 to 1.4-1.6 ms for a new one, p95 of new ones 69-72 to 57-60 ms
    (docs/benchmarks.md, "Web API"). Every other request goes on to the app as it came."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) != RECOMMEND_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = await request.body()    # a body over the cap raises in ``BodySizeLimit``'s receive
        try:
            response = await recommend_answer(scope["app"].state.web, raw, request.headers.get("accept-encoding", ""))
        except Exception as exc:
            handler = _handler(scope["app"].exception_handlers, exc)
            if handler is None:
                raise   # the server error middleware's handler: 500, logged
            response = await handler(request, exc)
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The request's path within the app (without ``--root-path``, as the router matches it)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _handler(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The app's handler for ``exc``'s class or its nearest base (as Starlette looks one up),
    but for ``Exception`` itself, which the server error middleware applies."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


@router.get("/api/programs", tags=["programs"], summary="Every published program (filter by state, Census region or program tier)")
def api_programs(web: Web, state: str | None = None, region: str | None = None, tier: str | None = None) -> JSONResponse:
    vd = web.version_data()
    problems = []
    if state and state.upper() not in US_STATES:
        problems.append(("state", f"{state!r} is not a US state code"))
    if region and region.title() not in REGIONS:
        problems.append(("region", f"must be one of {', '.join(REGIONS)}"))
    if tier and tier not in PROGRAM_TIERS:
        problems.append(("tier", f"must be one of {', '.join(PROGRAM_TIERS)}"))
    if problems:
        return JSONResponse(problems_json(problems), status_code=422)
    rows = [p for p in vd.program_list
            if (not state or p["state"] == state.upper()) and (not region or p.get("census_region") == region.title())
            and (not tier or p.get("tier") == tier)]
    return JSONResponse({"published_version": vd.version, "count": len(rows), "programs": rows})


@router.get("/api/programs/{acgme_id}", tags=["programs"], summary="One program: every feature with its basis, evidence and source snapshot",
            responses={404: {"description": "no such program in this version"}, 422: {"description": "not an IM ACGME id"}})
def api_program(acgme_id: str, web: Web) -> JSONResponse:
    if not ACGME_ID.match(acgme_id):
        return JSONResponse(problems_json([("acgme_id", "must be an IM ACGME program number: 140 and 7 digits")]), status_code=422)
    vd = web.version_data()
    body = vd.program_json(acgme_id)
    if body is None:
        program_or_404(vd, acgme_id)   # raises the 404
    return Response(body, media_type="application/json")


@router.get("/api/version", tags=["version"], summary="The published version the API reads now, with its sources")
def api_version(web: Web) -> JSONResponse:
    vd = web.version_data()
    m = vd.manifest
    return JSONResponse({
        "version": vd.version, "published_at": m.get("published_at"),
        "programs": len(vd.features), "sources": [{k: s.get(k) for k in ("snapshot", "source", "title", "as_of", "sha256", "rights")} for s in vd.snapshots],
    })
