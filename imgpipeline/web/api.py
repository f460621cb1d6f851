"""The JSON API over the current published version: a recommendation for a posted profile,
the program list and one program's features, and the version the API reads."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from imgpipeline.advice.profile import ApplicantProfile, ProfileError, parse_profile
from imgpipeline.vocabulary import PROGRAM_TIERS, US_STATES
from imgpipeline.web.encoding import accepts_gzip
from imgpipeline.web.state import REGIONS, Web, problems_json, program_or_404

ACGME_ID = re.compile(r"^140\d{7}$")

router = APIRouter()


def _profile_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile's JSON schema for the OpenAPI document, its nested models as components."""
    schema = ApplicantProfile.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return schema, defs


PROFILE_SCHEMA, PROFILE_DEFS = _profile_schema()
ERROR_SCHEMA = {"description": "A bad value: every problem with the field it is about", "content": {"application/json": {"example": problems_json([("step2ck.score", "must be between 1 and 300 (the USMLE three-digit scale), got 350")])}}}


@router.post(
    "/api/recommend", tags=["advice"],
    summary="One applicant's recommendation (the object `imgpipeline recommend` writes to recommendation.json)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": PROFILE_SCHEMA}}}},
    responses={422: ERROR_SCHEMA, 413: {"description": "request body too large"}},
)
async def api_recommend(request: Request, web: Web) -> JSONResponse:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return JSONResponse(problems_json([("body", f"not valid JSON: {exc}")]), status_code=422)
    try:
        profile = parse_profile(body, settings=web.settings)
    except ProfileError as exc:
        return JSONResponse(problems_json(exc.problems), status_code=422)
    if accepts_gzip(request.headers.get("accept-encoding", "")):   # compressed where it was computed
        body = await web.advise_json(profile, gzip=True)
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(await web.advise_json(profile), media_type="application/json")


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
