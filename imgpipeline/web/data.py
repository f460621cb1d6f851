"""What the app reads from one published version besides the advice's model inputs: the
program features and their evidence, the snapshots and the manifest. Read with pandas from the
version folder, prepared once per folder (like ``advice.published.load_published``), so a
switch of ``current`` is picked up by the next request and costs one read."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from imgpipeline.advice.profile import CENSUS_REGIONS
from imgpipeline.store import MANIFEST, has_table, read_manifest, read_table

REGION_OF_STATE: dict[str, str] = {s: r.title() for r, states in CENSUS_REGIONS.items() for s in states}

# What GET /api/programs returns per program (the whole row is at /api/programs/{acgme_id}).
LIST_COLUMNS = (
    "acgme_id", "program_name", "city", "state", "census_region", "tier", "program_type",
    "img_share", "img_share_basis", "sponsors_j1", "sponsors_h1b", "first_year_positions",
)


def jsonable(v: Any) -> Any:
    """A pandas / numpy value as plain JSON (missing as None)."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, dt.date):  # a date column as read back: the day, as it was published
        return v.isoformat()
    return v


def texts(v: Any) -> list[str] | None:
    """A list-of-strings value (an array as read back) as a plain list of its items; missing
    as None. A version published when the column was text holds the items ' + '-joined."""
    if v is None:
        return None
    if isinstance(v, str):
        return v.split(" + ") if v else []
    if isinstance(v, float) and math.isnan(v):
        return None
    return [str(x) for x in v]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (missing as None, timestamps as ISO text), vectorised."""
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


@dataclass
class VersionData:
    folder: Path
    version: str
    manifest: dict[str, Any]
    features: pd.DataFrame             # program_features, indexed by acgme_id
    evidence: dict[str, list[dict[str, Any]]]
    snapshots: list[dict[str, Any]]
    program_list: list[dict[str, Any]]
    feature_names: tuple[str, ...]
    city: dict[str, Any] = field(default_factory=dict)
    _programs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _json: dict[str, bytes] = field(default_factory=dict, repr=False)

    def program(self, acgme_id: str) -> dict[str, Any] | None:
        """One program's features with their evidence (built once per program and version)."""
        if acgme_id not in self.features.index:
            return None
        if acgme_id not in self._programs:
            self._programs[acgme_id] = self._build(acgme_id)
        return self._programs[acgme_id]

    def program_json(self, acgme_id: str) -> bytes | None:
        """``program`` as JSON bytes, serialised once per program and version."""
        if acgme_id not in self._json:
            prog = self.program(acgme_id)
            if prog is None:
                return None
            self._json[acgme_id] = json.dumps(prog).encode()
        return self._json[acgme_id]

    def _build(self, acgme_id: str) -> dict[str, Any]:
        row = self.features.loc[acgme_id]
        feats = []
        evidence = {e["feature"]: e for e in self.evidence.get(acgme_id, [])}
        for name in self.feature_names:
            ev = evidence.get(name, {})
            feats.append({
                "feature": name,
                "value": jsonable(row[name]),
                "basis": jsonable(row.get(f"{name}_basis")) or ev.get("basis"),
                "evidence": ev.get("evidence"),
                "source": ev.get("source"),
                "snapshot": texts(ev.get("snapshot")),
                "as_of": texts(ev.get("as_of")),
            })
            if name == "img_share" and f"{name}_low" in row and pd.notna(row[f"{name}_low"]):
                feats[-1]["interval"] = [jsonable(row[f"{name}_low"]), jsonable(row[f"{name}_high"])]
        info = {k: jsonable(row[k]) for k in ("program_name", "state", "census_region", "tier", "tier_reason", "program_type") if k in row}
        prov = {k: jsonable(row[k]) for k in row.index if k.startswith(("acgme_", "freida_")) and k.endswith(("snapshot", "as_of", "sha256"))}
        return {"acgme_id": acgme_id, **info, "city": self.city.get(acgme_id), "published_version": self.version,
                "features": feats, "provenance": prov}


def load_version_data(folder: Path) -> VersionData:
    return _load(Path(folder).resolve())


@functools.lru_cache(maxsize=4)
def _load(folder: Path) -> VersionData:
    manifest = read_manifest(version=folder) if (folder / MANIFEST).exists() else {}
    features = read_table("program_features", version=folder)
    evidence = read_table("feature_evidence", version=folder)
    snapshots = read_table("snapshots", version=folder) if has_table("snapshots", folder) else pd.DataFrame()
    programs = read_table("programs", version=folder, columns=["acgme_id", "city"]) if has_table("programs", folder) else pd.DataFrame(columns=["acgme_id", "city"])
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in records(evidence):
        by_id.setdefault(str(row.pop("acgme_id")), []).append(row)
    meta = {"acgme_id", "program_name", "state", "tier_reason", "yog_tolerance_reason", "img_share_low", "img_share_high"}
    names = tuple(c for c in features.columns if not c.endswith("_basis") and c not in meta
                  and not c.startswith(("acgme_snapshot", "acgme_as_of", "acgme_sha256", "freida_snapshot", "freida_as_of", "freida_sha256")))
    listing = features.merge(programs.drop_duplicates("acgme_id"), on="acgme_id", how="left")
    cols = [c for c in LIST_COLUMNS if c in listing.columns]
    # By the state's code (a categorical would sort in its declared order).
    program_list = records(listing[cols].sort_values(["state", "program_name"], key=lambda s: s.astype("str")))
    snaps = records(snapshots.sort_values(["source", "as_of"])) if len(snapshots) else []
    return VersionData(
        folder=folder, version=str(manifest.get("version") or folder.name), manifest=manifest,
        features=features.set_index("acgme_id", drop=False), evidence=by_id, snapshots=snaps,
        program_list=program_list, feature_names=names, city={p["acgme_id"]: p.get("city") for p in program_list},
    )
