"""What every route of the web app shares: the app's state (its settings, templates and the
per-version recommendation caches), reached from a request as ``request.app.state.web`` or by
the ``Web`` dependency, and the small helpers the pages, downloads and API all use."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Annotated, Any

from cachetools import LRUCache
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgpipeline.advice.profile import ApplicantProfile, profile_from_json
from imgpipeline.advice.published import Published, load_published, resolve_version
from imgpipeline.advice.recommend import Recommendation, recommend
from imgpipeline.settings import Settings
from imgpipeline.text import pct
from imgpipeline.web.advisors import Advisors, read_and_freeze
from imgpipeline.web.data import REGION_OF_STATE, VersionData, load_version_data
from imgpipeline.web.encoding import encoded

HERE = Path(__file__).parent
JSON_CACHE = 128     # the API's answers kept (about 0.25 MB each; 22 KB gzip-compressed)
REGIONS = ("Northeast", "Midwest", "South", "West", "Territory")
TIER_LABEL = {
    "community": "community / community-based academic",
    "mid_tier_academic_hybrid": "mid-tier academic or hybrid",
    "highly_competitive_academic": "highly competitive academic",
}


def problems_json(problems: list[tuple[str, str]]) -> dict[str, Any]:
    return {"detail": [{"field": f, "message": m} for f, m in problems]}


class _Key:
    """A profile's cache key (its fields as JSON: ``_key``) carrying the profile itself, so a
    cached recommendation is computed from the profile already parsed."""

    __slots__ = ("text", "profile")

    def __init__(self, text: str, profile: ApplicantProfile) -> None:
        self.text, self.profile = text, profile

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.text == self.text


def _key(profile: ApplicantProfile) -> _Key:
    """The profile's fields other than their defaults, as pydantic writes them (in the model's
    field order, so equal profiles give equal texts)."""
    return _Key(profile.model_dump_json(exclude_defaults=True), profile)


class WebState:
    """One app's settings, templates and caches (``create_app`` puts it at ``app.state.web``).
    The published version is resolved on every call, so a refresh's switch is picked up by the
    next request; the caches are per app and keyed by version folder."""

    def __init__(self, settings: Settings, has_swagger: bool) -> None:
        self.settings, self.has_swagger = settings, has_swagger
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(tier_label=TIER_LABEL, pct=pct)
        # The model runs one at a time per process: requests computing at once in the thread
        # pool only contended for the GIL (more CPU per request, none finished sooner).
        # Re-entrant: the JSON of a profile runs its recommendation inside. A cached answer
        # does not wait for it.
        self._compute = threading.RLock()
        self._cached = functools.lru_cache(maxsize=128)(self._recommend)
        self._json: LRUCache[tuple[Path, bytes, bool], bytes] = LRUCache(maxsize=JSON_CACHE)   # the API's answers
        self._settled: set[Path] = set()
        # The API's new recommendations: computed by advice processes (``web.advisors``), one
        # per CPU unless the settings say otherwise; 0: in this process.
        n = settings.advice_processes
        self.advisors = Advisors(settings, n) if n > 0 else None

    def version_folder(self) -> Path:
        folder = resolve_version(self.settings)
        if folder not in self._settled:
            self._settle(folder)
        return folder

    def _settle(self, folder: Path) -> None:
        """A version's data read once (both caches) and frozen (``advisors.read_and_freeze``)."""
        read_and_freeze(folder, load_published, load_version_data)
        self._settled.add(folder)

    def published(self) -> Published:
        return load_published(self.version_folder())

    def version_data(self) -> VersionData:
        return load_version_data(self.version_folder())

    def _recommend(self, folder: Path, key: _Key) -> Recommendation:
        with self._compute:
            return recommend(key.profile, load_published(folder), settings=self.settings)

    def _recommend_json(self, folder: Path, key: _Key, gzip: bool) -> bytes:
        with self._compute:
            body = self._cached(folder, key).json_bytes()
        return encoded(body, gzip)

    def advise(self, profile: ApplicantProfile) -> Recommendation:
        """One recommendation per version and profile: the page, its filters and its downloads
        ask for the same one."""
        return self._cached(self.version_folder(), _key(profile))

    async def advise_json(self, raw: bytes, gzip: bool = False) -> bytes:
        """The recommendation for a posted JSON body (``profile_from_json``: a ``ProfileError``
        naming every bad field) as ``Recommendation.to_json()``'s JSON bytes: the object the CLI
        writes to recommendation.json (the same values; written compactly, by orjson), with
        ``gzip`` compressed (``encoding.encoded``). With advice processes, the first free one
        reads the body and computes the answer, so the server itself neither parses nor
        validates a new profile; without, this process reads it and computes in a thread. The
        last ``JSON_CACHE`` answers are kept per version, body and encoding, as they are sent
        (a repeated request is answered without its body being read again)."""
        folder = resolve_version(self.settings)
        if folder not in self._settled:
            await run_in_threadpool(self._settle, folder)   # a new version, read once
        key = (folder, raw, gzip)
        body = self._json.get(key)
        if body is None:
            if self.advisors is not None:
                body = await self.advisors.advise_json(folder, raw, gzip)
            else:
                profile_key = _key(profile_from_json(raw, settings=self.settings))
                body = await run_in_threadpool(self._recommend_json, folder, profile_key, gzip)
            self._json[key] = body
        return body

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.templates.TemplateResponse(request, name, {"has_swagger": self.has_swagger, **context}, status_code=status)


async def web_state(request: Request) -> WebState:
    """The app's ``WebState`` (async, so FastAPI runs it inline rather than in a thread)."""
    return request.app.state.web


Web = Annotated[WebState, Depends(web_state)]


def region(state: Any) -> str:
    return REGION_OF_STATE.get(str(state), "Territory")


def program_or_404(vd: VersionData, acgme_id: str) -> dict[str, Any]:
    prog = vd.program(acgme_id)
    if prog is None:
        raise StarletteHTTPException(404, f"no program {acgme_id} in published version {vd.version}")
    return prog
