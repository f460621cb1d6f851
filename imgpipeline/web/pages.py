"""The applicant's pages: the form, its result (filterable by state, region and tier), a
program's page, the sources page and Swagger UI. Server-rendered, no JavaScript build step."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgpipeline.advice.profile import ProfileError, parse_profile
from imgpipeline.advice.published import NotPublished
from imgpipeline.advice.render import size_curve_svg
from imgpipeline.vocabulary import PROGRAM_TIERS
from imgpipeline.web.downloads import report_available
from imgpipeline.web.forms import FIELDS, GROUPS, FormData
from imgpipeline.web.state import REGIONS, Web, program_or_404, region

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def form(request: Request, web: Web) -> HTMLResponse:
    values = FormData.from_query(request.query_params).values
    return web.page(request, "form.html", groups=GROUPS, values=values, errors={}, version=_version_or_none(web.version_folder))


@router.post("/recommend", include_in_schema=False)
async def form_post(request: Request) -> RedirectResponse:
    data = FormData.from_query(await request.form())
    return RedirectResponse("/recommend?" + urlencode(data.query()), status_code=303)


@router.get("/recommend", response_class=HTMLResponse, include_in_schema=False)
def result(request: Request, web: Web) -> HTMLResponse:
    data = FormData.from_query(request.query_params)
    try:
        profile = parse_profile(data.profile(), settings=web.settings)
    except ProfileError as exc:
        errors = _errors_by_input(exc.problems)
        return web.page(request, "form.html", 422, groups=GROUPS, values=data.values, errors=errors,
                        problems=[(FIELDS[_input_of(w)].id, w, m) for w, m in exc.problems], version=_version_or_none(web.version_folder))
    rec = web.advise(profile)
    q = request.query_params
    filters = {k: q.get(k, "") for k in ("state", "region", "tier")}
    rows = _filtered(rec.programs, filters)
    summary = rec.summary()
    profile_query = urlencode(data.query())
    listed = rec.programs
    return web.page(
        request, "result.html", rec=rec, summary=summary, plan=summary.get("plan"),
        rows=rows.to_dict(orient="records"), contributions=_contribs(rows),
        filters=filters, profile_query=profile_query,
        states=sorted(listed["state"].dropna().unique()), regions=[r for r in REGIONS if (listed["state"].map(region) == r).any()],
        tiers=[t for t in PROGRAM_TIERS if (listed["program_tier"] == t).any()],
        svg=size_curve_svg(rec), report=report_available(rec),
    )


@router.get("/programs/{acgme_id}", response_class=HTMLResponse, include_in_schema=False)
def program_page(request: Request, acgme_id: str, web: Web) -> HTMLResponse:
    prog = program_or_404(web.version_data(), acgme_id)
    return web.page(request, "program.html", p=prog)


@router.get("/sources", response_class=HTMLResponse, include_in_schema=False)
def sources(request: Request, web: Web) -> HTMLResponse:
    vd = web.version_data()
    return web.page(request, "sources.html", vd=vd, manifest=vd.manifest)


@router.get("/docs", include_in_schema=False)
def docs(web: Web) -> HTMLResponse:
    if not web.has_swagger:
        raise StarletteHTTPException(404, "Swagger UI is not installed: the OpenAPI document is at /openapi.json")
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="imgpipeline API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js", swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon-32x32.png",
    )


def _version_or_none(folder_of: Callable[[], Any]) -> str | None:
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
        rows = rows[rows["state"].map(region) == filters["region"].title()]
    if filters["tier"]:
        rows = rows[rows["program_tier"] == filters["tier"]]
    return rows


def _contribs(rows: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    return {r.acgme_id: json.loads(r.contributions) for r in rows.itertuples()}
