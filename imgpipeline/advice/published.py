"""What the advice reads from one published version, prepared once per version folder.

Only published Parquet is read: ``program_openness`` and ``interview_coefficients`` (the model),
``match_probability_curve`` (interviews -> P(match)) and the manifest. Cached per folder, so an
app pays the reading once and a refresh's switch of ``current`` is picked up; and between
processes (``store.cached`` in ``Settings.cache_dir``, keyed by the folder, its input files and
the code that builds the arrays), so a command (``imgpipeline recommend``) reads no Parquet
after the first run on a version.
"""

from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline import vocabulary
from imgpipeline.advice import model, outcome
from imgpipeline.advice.model import Coefficients, Programs
from imgpipeline.advice.outcome import RanksCurve
from imgpipeline.settings import Settings
from imgpipeline.store import (
    MANIFEST,
    NotPublished,
    cached,
    has_table,
    read_manifest,
    read_table,
    resolve_version,
)

log = logging.getLogger(__name__)

INPUT_TABLES = ("program_openness", "interview_coefficients", "match_probability_curve")


@dataclass
class Published:
    """One version's model inputs, as arrays."""

    folder: Path
    version: str
    programs: Programs
    coefficients: Coefficients
    coefficient_table: pd.DataFrame
    ranks: RanksCurve
    manifest: dict[str, Any] = field(default_factory=dict)
    display_name: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    @property
    def n(self) -> int:
        return self.programs.n

    @property
    def table(self) -> pd.DataFrame:
        return self.programs.table

    def source_dates(self) -> dict[str, str]:
        """As-of dates of the sources behind the advice (FREIDA, ACGME, Charting Outcomes)."""
        t = self.table
        out = {}
        for prefix, label in (("freida", "FREIDA"), ("acgme", "ACGME")):
            col = f"{prefix}_as_of"
            if col in t and t[col].notna().any():
                out[label] = str(t[col].dropna().iloc[0])
        if self.ranks.as_of:
            out["NRMP Charting Outcomes"] = self.ranks.as_of
        return out


# Where ``_load`` keeps a version's arrays when it is not told: the cache folder of the
# environment's settings, read only when the version is not in this process's cache yet (an app
# asking for a loaded version pays nothing).
ENVIRONMENT = "environment"


def load_published(source: Settings | Path | str | None = None) -> Published:
    """The advice's inputs of the version ``source`` resolves to (``store.resolve_version``),
    kept between processes in the cache folder of ``source`` when it is settings, else of the
    environment's settings."""
    return _load(resolve_version(source), source.cache_dir / "advice" if isinstance(source, Settings) else ENVIRONMENT)


def display_names(t: pd.DataFrame) -> np.ndarray:
    """Program names, with the city added where a name repeats (three 'HCA Florida ...')."""
    names = t["program_name"].astype(str)
    repeated = names.duplicated(keep=False)
    city = t["city"].astype("object").fillna("")
    return np.where(repeated & (city != ""), names + " (" + city + ")", names).astype(object)


# The code that makes a ``Published`` from the files: a change to any of it invalidates the cache.
BUILT_BY = tuple(Path(m.__file__) for m in (sys.modules[__name__], model, outcome, vocabulary))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def _load(folder: Path, cache_dir: Path | str | None = ENVIRONMENT) -> Published:
    """``folder``'s arrays, from the cache in ``cache_dir`` (``ENVIRONMENT``: the environment's;
    None: no cache) or read and then cached there."""
    if cache_dir == ENVIRONMENT:
        cache_dir = Settings().cache_dir / "advice"
    missing = [n for n in INPUT_TABLES if not has_table(n, folder)]
    if missing:
        raise NotPublished(
            f"version {folder.name} has no {', '.join(m + '.parquet' for m in missing)}: it predates the "
            "interview-chance model; run `imgpipeline refresh` to publish a version that has it"
        )
    files = [f"{n}.parquet" for n in INPUT_TABLES] + [MANIFEST]
    return cached(folder, "published", files, BUILT_BY, lambda: _read(folder), Path(cache_dir) if cache_dir else None, kind=Published)


def _read(folder: Path) -> Published:
    """The advice's inputs read from the version's Parquet and manifest."""
    frames = {n: read_table(n, version=folder) for n in INPUT_TABLES}
    manifest = read_manifest(version=folder) if (folder / MANIFEST).exists() else {}
    log.info("loaded %d programs of version %s", len(frames["program_openness"]), folder.name)
    return from_frames(frames["program_openness"], frames["interview_coefficients"], frames["match_probability_curve"], folder, manifest)


def from_frames(
    openness: pd.DataFrame,
    coefficients: pd.DataFrame,
    curve: pd.DataFrame,
    folder: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> Published:
    """The advice's inputs from the published frames themselves."""
    manifest = manifest or {}
    folder = folder or Path(".")
    programs = Programs.from_table(openness)
    return Published(
        folder=folder,
        version=str(manifest.get("version") or folder.name or "unpublished"),
        programs=programs,
        coefficients=Coefficients.from_table(coefficients),
        coefficient_table=coefficients,
        ranks=RanksCurve.from_curve(curve),
        manifest=manifest,
        display_name=display_names(programs.table),
    )
