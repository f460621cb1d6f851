"""The applicant's web page and the JSON API over the current published version (issue 14).

FastAPI with server-rendered Jinja2 templates and plain forms: no JavaScript build step, no CDN
(the page's CSS and Swagger UI's assets are served from installed packages). It reads only the
published version ``current`` points to, resolved on every request: ``load_published`` and
``load_version_data`` cache per version folder, so a refresh's switch is picked up by the next
request. Imports neither Prefect, Great Expectations nor scikit-learn.

Run it with ``imgpipeline serve`` (or ``make app``).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgpipeline.advice.csv_out import csv_bytes
from imgpipeline.advice.profile import ApplicantProfile, ProfileError, parse_profile
from imgpipeline.advice.published import NotPublished, Published, load_published, resolve_version
from imgpipeline.advice.recommend import Recommendation, recommend
from imgpipeline.advice.render import size_curve_svg
from imgpipeline.settings import Settings
from imgpipeline.text import pct
from imgpipeline.vocabulary import PROGRAM_TIERS, US_STATES
from imgpipeline.web.data import REGION_OF_STATE, VersionData, load_version_data
from imgpipeline.web.forms import FIELDS, GROUPS, FormData

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_BODY_BYTES = 64 * 1024        # a profile is well under 2 KB
ACGME_ID = re.compile(r"^140\d{7}$")
REGIONS = ("Northeast", "Midwest", "South", "West", "Territory")
TIER_LABEL = {
    "community": "community / community-based academic",
    "mid_tier_academic_hybrid": "mid-tier academic or hybrid",
    "highly_competitive_academic": "highly competitive academic",
}


class BodyTooLarge(Exception):
    pass


class _Key:
    """A profile's cache key (its fields as sorted JSON) carrying the profile itself, so a
    cached recommendation is computed from the profile already parsed."""

    __slots__ = ("text", "profile")

    def __init__(self, text: str, profile: ApplicantProfile) -> None:
        self.text, self.profile = text, profile

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.text == self.text


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


def problems_json(problems: list[tuple[str, str]]) -> dict[str, Any]:
    return {"detail": [{"field": f, "message": m} for f, m in problems]}


def _profile_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile's JSON schema for the OpenAPI document, its nested models as components."""
    schema = ApplicantProfile.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return schema, defs


def create_app(settings: Settings | None = None, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The app over ``settings``' processed folder (its ``current`` version, resolved per request)."""
    settings = settings or Settings()
    app = FastAPI(
        title="imgpipeline",
        summary="Which US internal-medicine programs an IMG should apply to, each program's chance of interviewing them, and why.",
        version="1",
        docs_url=None, redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(tier_label=TIER_LABEL, pct=pct)
    try:  # mounted before /static, which would otherwise take /static/swagger/...
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
        has_swagger = True
    except ImportError:  # the OpenAPI document is still at /openapi.json
        has_swagger = False
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def version_folder() -> Path:
        return resolve_version(settings)

    def published() -> Published:
        return load_published(version_folder())

    def version_data() -> VersionData:
        return load_version_data(version_folder())

    @functools.lru_cache(maxsize=128)
    def _cached(folder: Path, key: _Key) -> Recommendation:
        return recommend(key.profile, load_published(folder), settings=settings)

    def _key(profile: ApplicantProfile) -> _Key:
        return _Key(json.dumps(profile.model_dump(mode="json", exclude_defaults=True), sort_keys=True), profile)

    def advise(profile: ApplicantProfile) -> Recommendation:
        """One recommendation per version and profile: the page, its filters and its downloads
        ask for the same one."""
        return _cached(version_folder(), _key(profile))

    @functools.lru_cache(maxsize=128)
    def _cached_json(folder: Path, key: _Key) -> bytes:
        return orjson.dumps(_cached(folder, key).to_json(), default=str)

    def advise_json(profile: ApplicantProfile) -> bytes:
        """``Recommendation.to_json()`` as JSON bytes: the object the CLI writes to
        recommendation.json (the same values; written compactly, by orjson)."""
        return _cached_json(version_folder(), _key(profile))

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"has_swagger": has_swagger, **context}, status_code=status)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    # --- errors: a field named, never a stack trace ---------------------------------------
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [(".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")) or "request", e["msg"]) for e in exc.errors()]
        return JSONResponse(problems_json(problems), status_code=422)

    @app.exception_handler(NotPublished)
    async def _not_published(request: Request, exc: NotPublished) -> Response:
        if is_api(request):
            return JSONResponse({"detail": [{"field": "version", "message": str(exc)}]}, status_code=503)
        return page(request, "error.html", 503, title="Nothing published yet", message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request):
            return JSONResponse({"detail": [{"field": "path", "message": str(exc.detail)}]}, status_code=exc.status_code)
        return page(request, "error.html", exc.status_code, title=f"{exc.status_code}", message=str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("request %s failed", request.url.path)
        if is_api(request):
            return JSONResponse({"detail": [{"field": "server", "message": "internal error (logged on the server)"}]}, status_code=500)
        return page(request, "error.html", 500, title="Something went wrong", message="internal error (logged on the server)")

    # --- pages ------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def form(request: Request) -> HTMLResponse:
        values = FormData.from_query(request.query_params).values
        return page(request, "form.html", groups=GROUPS, values=values, errors={}, version=_version_or_none(version_folder))

    @app.post("/recommend", include_in_schema=False)
    async def form_post(request: Request) -> RedirectResponse:
        data = FormData.from_query(await request.form())
        return RedirectResponse("/recommend?" + urlencode(data.query()), status_code=303)

    @app.get("/recommend", response_class=HTMLResponse, include_in_schema=False)
    def result(request: Request) -> HTMLResponse:
        data = FormData.from_query(request.query_params)
        try:
            profile = parse_profile(data.profile(), settings=settings)
        except ProfileError as exc:
            errors = _errors_by_input(exc.problems)
            return page(request, "form.html", 422, groups=GROUPS, values=data.values, errors=errors,
                        problems=[(FIELDS[_input_of(w)].id, w, m) for w, m in exc.problems], version=_version_or_none(version_folder))
        rec = advise(profile)
        q = request.query_params
        filters = {k: q.get(k, "") for k in ("state", "region", "tier")}
        rows = _filtered(rec.programs, filters)
        summary = rec.summary()
        profile_query = urlencode(data.query())
        listed = rec.programs
        return page(
            request, "result.html", rec=rec, summary=summary, plan=summary.get("plan"),
            rows=rows.to_dict(orient="records"), contributions=_contribs(rows),
            filters=filters, profile_query=profile_query,
            states=sorted(listed["state"].dropna().unique()), regions=[r for r in REGIONS if (listed["state"].map(_region) == r).any()],
            tiers=[t for t in PROGRAM_TIERS if (listed["program_tier"] == t).any()],
            svg=size_curve_svg(rec), report=_report_available(rec),
        )

    @app.get("/recommend.{fmt}", include_in_schema=False)
    def download(request: Request, fmt: str) -> Response:
        if fmt not in ("csv", "json", "parquet", "report.html"):
            raise StarletteHTTPException(404, f"no download as {fmt}: csv, json, parquet")
        data = FormData.from_query(request.query_params)
        try:
            profile = parse_profile(data.profile(), settings=settings)
        except ProfileError as exc:
            return JSONResponse(problems_json(exc.problems), status_code=422)
        rec = advise(profile)
        stem = f"recommendations-{profile.profile_id or 'profile'}"
        if fmt == "csv":
            return _attachment(csv_bytes(rec.programs), "text/csv; charset=utf-8", f"{stem}.csv")
        if fmt == "json":
            return _attachment(json.dumps(rec.to_json(), indent=2, default=str).encode(), "application/json", f"{stem}.json")
        if fmt == "parquet":
            buf = io.BytesIO()
            rec.programs.to_parquet(buf, index=False)
            return _attachment(buf.getvalue(), "application/vnd.apache.parquet", f"{stem}.parquet")
        html = _report_html(rec)
        if html is None:
            raise StarletteHTTPException(404, "the one-page report is not available in this version of the app")
        return _attachment(html.encode(), "text/html; charset=utf-8", f"{stem}-report.html")

    @app.get("/programs/{acgme_id}", response_class=HTMLResponse, include_in_schema=False)
    def program_page(request: Request, acgme_id: str) -> HTMLResponse:
        prog = _program(version_data(), acgme_id)
        return page(request, "program.html", p=prog)

    @app.get("/sources", response_class=HTMLResponse, include_in_schema=False)
    def sources(request: Request) -> HTMLResponse:
        vd = version_data()
        return page(request, "sources.html", vd=vd, manifest=vd.manifest)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not has_swagger:
            raise StarletteHTTPException(404, "Swagger UI is not installed: the OpenAPI document is at /openapi.json")
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="imgpipeline API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js", swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    # --- JSON API --------------------------------------------------------------------------
    profile_schema, profile_defs = _profile_schema()
    error_schema = {"description": "A bad value: every problem with the field it is about", "content": {"application/json": {"example": problems_json([("step2ck.score", "must be between 1 and 300 (the USMLE three-digit scale), got 350")])}}}

    @app.post(
        "/api/recommend", tags=["advice"],
        summary="One applicant's recommendation (the object `imgpipeline recommend` writes to recommendation.json)",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": profile_schema}}}},
        responses={422: error_schema, 413: {"description": "request body too large"}},
    )
    async def api_recommend(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            return JSONResponse(problems_json([("body", f"not valid JSON: {exc}")]), status_code=422)
        try:
            profile = parse_profile(body, settings=settings)
        except ProfileError as exc:
            return JSONResponse(problems_json(exc.problems), status_code=422)
        body = await run_in_threadpool(advise_json, profile)
        return Response(body, media_type="application/json")

    @app.get("/api/programs", tags=["programs"], summary="Every published program (filter by state, Census region or program tier)")
    def api_programs(state: str | None = None, region: str | None = None, tier: str | None = None) -> JSONResponse:
        vd = version_data()
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

    @app.get("/api/programs/{acgme_id}", tags=["programs"], summary="One program: every feature with its basis, evidence and source snapshot",
             responses={404: {"description": "no such program in this version"}, 422: {"description": "not an IM ACGME id"}})
    def api_program(acgme_id: str) -> JSONResponse:
        if not ACGME_ID.match(acgme_id):
            return JSONResponse(problems_json([("acgme_id", "must be an IM ACGME program number: 140 and 7 digits")]), status_code=422)
        vd = version_data()
        body = vd.program_json(acgme_id)
        if body is None:
            _program(vd, acgme_id)   # raises the 404
        return Response(body, media_type="application/json")

    @app.get("/api/version", tags=["version"], summary="The published version the API reads now, with its sources")
    def api_version() -> JSONResponse:
        vd = version_data()
        m = vd.manifest
        return JSONResponse({
            "version": vd.version, "published_at": m.get("published_at"),
            "programs": len(vd.features), "sources": [{k: s.get(k) for k in ("snapshot", "source", "title", "as_of", "sha256", "rights")} for s in vd.snapshots],
        })

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        doc.setdefault("components", {}).setdefault("schemas", {}).update(profile_defs)
        app.openapi_schema = doc
        return doc

    app.openapi = custom_openapi  # type: ignore[method-assign]
    app.add_middleware(GZipMiddleware, minimum_size=2048)   # the result page is ~0.5 MB of text
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    return app


# --- helpers ---------------------------------------------------------------------------------
def _region(state: Any) -> str:
    return REGION_OF_STATE.get(str(state), "Territory")


def _version_or_none(folder_of) -> str | None:
    try:
        return folder_of().name
    except NotPublished:
        return None


def _errors_by_input(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each problem on the input it names; a problem about a group (``step2ck``) or the whole
    profile goes on the group's first input, so no message is lost."""
    out: dict[str, list[str]] = {}
    for where, msg in problems:
        name = _input_of(where)
        out.setdefault(name, []).append(msg if name == where else f"{where}: {msg}")
    return out


def _input_of(where: str) -> str:
    return where if where in FIELDS else next((f for f in FIELDS if f.startswith(where + ".")), "graduation_year")


def _filtered(listed: pd.DataFrame, filters: dict[str, str]) -> pd.DataFrame:
    rows = listed
    if filters["state"]:
        rows = rows[rows["state"] == filters["state"].upper()]
    if filters["region"]:
        rows = rows[rows["state"].map(_region) == filters["region"].title()]
    if filters["tier"]:
        rows = rows[rows["program_tier"] == filters["tier"]]
    return rows


def _contribs(rows: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    return {r.acgme_id: json.loads(r.contributions) for r in rows.itertuples()}


def _program(vd: VersionData, acgme_id: str) -> dict[str, Any]:
    prog = vd.program(acgme_id)
    if prog is None:
        raise StarletteHTTPException(404, f"no program {acgme_id} in published version {vd.version}")
    return prog


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _report_fn(rec: Recommendation) -> Any:
    """How this install makes issue 10's one-page report, if it does: a ``report_html`` method
    of the recommendation, or a function of ``imgpipeline.advice.report``; None otherwise (the
    page then offers no report link)."""
    method = getattr(rec, "report_html", None)
    if callable(method):
        return method
    try:
        from imgpipeline.advice import report  # type: ignore[attr-defined]
    except ImportError:
        return None
    for name in ("report_html", "render_report", "html"):
        fn = getattr(report, name, None)
        if callable(fn):
            return lambda: fn(rec)
    return None


def _report_html(rec: Recommendation) -> str | None:
    fn = _report_fn(rec)
    return None if fn is None else str(fn())


def _report_available(rec: Recommendation) -> bool:
    return _report_fn(rec) is not None
