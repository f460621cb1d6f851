"""The result page's downloads: one applicant's recommendation as CSV, JSON, Parquet or the
one-page HTML report (``/recommend.{fmt}``, with the form's query string)."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgpipeline.advice.csv_out import csv_bytes
from imgpipeline.advice.profile import ProfileError, parse_profile
from imgpipeline.advice.recommend import Recommendation
from imgpipeline.web.forms import FormData
from imgpipeline.web.state import Web, problems_json

router = APIRouter(include_in_schema=False)


@router.get("/recommend.{fmt}", include_in_schema=False)
def download(request: Request, fmt: str, web: Web) -> Response:
    if fmt not in ("csv", "json", "parquet", "report.html"):
        raise StarletteHTTPException(404, f"no download as {fmt}: csv, json, parquet")
    data = FormData.from_query(request.query_params)
    try:
        profile = parse_profile(data.profile(), settings=web.settings)
    except ProfileError as exc:
        return JSONResponse(problems_json(exc.problems), status_code=422)
    rec = web.advise(profile)
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


def report_available(rec: Recommendation) -> bool:
    return _report_fn(rec) is not None
