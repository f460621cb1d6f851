"""Stage NRMP Charting Outcomes 2026 for non-US IMGs (the JSON snapshot) into two tidy tables:
``charting_outcomes`` (specialty x measure x outcome distributions) and
``charting_outcomes_totals`` (counts and match rates per specialty, plus the all-specialty row).

Values are kept as published; percentages become fractions. A snapshot whose distributions are
out of order or whose counts do not add up is refused (``StagingError``), since nothing built
on it could be trusted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot, provenance
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.tables import TABLES
from imgpipeline.tables.charting_outcomes import ALL_SPECIALTIES

STATS = ("min", "q1", "median", "q3", "max", "iqr", "mean", "sd")
OUTCOMES = {"matched": "matched", "not_matched": "not_matched"}
# Overall percentages and the all-specialty medians are labelled, not keyed, in the file.
PERCENT_LABELS = {"Has a Ph.D.": "phd_share", "Has another graduate degree": "grad_degree_share"}


def read_charting(path: Path) -> dict[str, Any]:
    """The snapshot as parsed JSON, with the three parts the tables need."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StagingError(f"{Path(path).name}: not a readable Charting Outcomes JSON: {exc}") from exc
    missing = [k for k in ("overall", "metrics", "specialties") if k not in data]
    if missing:
        raise StagingError(f"{Path(path).name}: no {missing} in the Charting Outcomes JSON")
    return data


def _num(v: Any) -> float | None:
    """A published number; '5.0' and '2.2%' strings (the all-specialty medians) too."""
    if v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    text = str(v).strip().rstrip("%")
    try:
        return float(text)
    except ValueError as exc:
        raise StagingError(f"not a number: {v!r}") from exc


def _pct(v: Any) -> float | None:
    x = _num(v)
    return None if x is None else x / 100.0


def _check_distribution(where: str, st: dict[str, Any]) -> None:
    q = [st.get(k) for k in ("min", "q1", "median", "q3", "max")]
    if all(v is None for v in q):
        return
    if any(v is None for v in q) or q != sorted(q):
        raise StagingError(f"{where}: distribution out of order: {st}")
    if st.get("iqr") is not None and abs(st["q3"] - st["q1"] - st["iqr"]) > 1e-6:
        raise StagingError(f"{where}: iqr {st['iqr']} != q3 - q1 ({st['q3']} - {st['q1']})")


def charting_outcomes_frame(data: dict[str, Any]) -> pd.DataFrame:
    """The distributions, one row per specialty x measure x outcome (no provenance yet)."""
    meta = {m["key"]: m for m in data["metrics"]}
    rows: list[dict[str, Any]] = []
    for spec in data["specialties"]:
        for key, by_outcome in spec["metrics"].items():
            if key not in meta:
                raise StagingError(f"{spec['name']}: measure {key!r} is not described in 'metrics'")
            m = meta[key]
            for raw_outcome, outcome in OUTCOMES.items():
                st = by_outcome[raw_outcome]
                _check_distribution(f"{spec['name']} / {key} / {outcome}", st)
                stats = {k: _num(st.get(k)) for k in STATS}
                rows.append(
                    {
                        "specialty": spec["name"],
                        "specialty_short": spec.get("short") or spec["name"],
                        "measure": key,
                        "measure_label": m["label"],
                        "unit": m["unit"],
                        "verified": bool(m.get("verified")),
                        "higher_is_better": m.get("higherBetter"),
                        "outcome": outcome,
                        "n": st.get("n"),
                        "suppressed": st.get("n") is not None and all(v is None for v in stats.values()),
                        **stats,
                    }
                )
    by_label = {m["label"]: m for m in data["metrics"]}
    for agg in data["overall"].get("aggregate", []):
        m = by_label.get(agg["measure"])
        if m is None:
            if agg["measure"] not in PERCENT_LABELS:
                raise StagingError(f"all-specialty measure {agg['measure']!r} is not described in 'metrics'")
            continue
        for raw, outcome in (("matched", "matched"), ("notMatched", "not_matched")):
            rows.append(
                {
                    "specialty": ALL_SPECIALTIES,
                    "specialty_short": ALL_SPECIALTIES,
                    "measure": m["key"],
                    "measure_label": m["label"],
                    "unit": m["unit"],
                    "verified": bool(m.get("verified")),
                    "higher_is_better": m.get("higherBetter"),
                    "outcome": outcome,
                    "n": None,
                    "suppressed": False,
                    **{k: None for k in STATS},
                    "median": _num(agg[raw]),
                }
            )
    return pd.DataFrame(rows)


def charting_totals_frame(data: dict[str, Any]) -> pd.DataFrame:
    """Counts and match rates per specialty, plus the all-specialty row (no provenance yet)."""
    rows: list[dict[str, Any]] = []
    for spec in data["specialties"]:
        matched, unmatched, total = spec["imgMatched"], spec["imgNotMatched"], spec["imgTotal"]
        if matched + unmatched != total:
            raise StagingError(f"{spec['name']}: {matched} matched + {unmatched} not matched != {total}")
        phd, grad = spec.get("phd") or {}, spec.get("gradDegree") or {}
        rows.append(
            {
                "specialty": spec["name"],
                "specialty_short": spec.get("short") or spec["name"],
                "positions": spec["positions"],
                "all_applicants": spec["allApplicants"],
                "img_matched": matched,
                "img_not_matched": unmatched,
                "img_total": total,
                "match_rate": _pct(spec["matchRate"]),
                "match_rate_computed": matched / total if total else None,
                "all_per_position": spec.get("allPerPos"),
                "img_per_position": spec.get("imgPerPos"),
                "phd_share_matched": _pct(phd.get("matched")),
                "phd_share_not_matched": _pct(phd.get("not_matched")),
                "grad_degree_share_matched": _pct(grad.get("matched")),
                "grad_degree_share_not_matched": _pct(grad.get("not_matched")),
            }
        )
    o = data["overall"]
    if o["totalImgMatched"] + o["totalImgNotMatched"] != o["totalImg"]:
        raise StagingError("all specialties: matched + not matched != total")
    pct = {PERCENT_LABELS[a["measure"]]: a for a in o.get("aggregate", []) if a["measure"] in PERCENT_LABELS}
    rows.append(
        {
            "specialty": ALL_SPECIALTIES,
            "specialty_short": ALL_SPECIALTIES,
            "positions": o["totalPositions"],
            "all_applicants": o["totalAllApplicants"],
            "img_matched": o["totalImgMatched"],
            "img_not_matched": o["totalImgNotMatched"],
            "img_total": o["totalImg"],
            "match_rate": _pct(o["weightedMatchRate"]),
            "match_rate_computed": o["totalImgMatched"] / o["totalImg"],
            "phd_share_matched": _pct(pct["phd_share"]["matched"]) if "phd_share" in pct else None,
            "phd_share_not_matched": _pct(pct["phd_share"]["notMatched"]) if "phd_share" in pct else None,
            "grad_degree_share_matched": _pct(pct["grad_degree_share"]["matched"]) if "grad_degree_share" in pct else None,
            "grad_degree_share_not_matched": _pct(pct["grad_degree_share"]["notMatched"]) if "grad_degree_share" in pct else None,
            "active_applicants": o.get("activeApplicants"),
            "img_share_of_pool": _pct(o.get("imgShareOfPool")),
            "analysis_sample": o.get("analysisSample"),
            "consented_matched": o.get("consentedMatched"),
            "consented_not_matched": o.get("consentedNotMatched"),
            "headline_match_rate": _pct(o.get("reportHeadlineRate")),
        }
    )
    return pd.DataFrame(rows)


def parse_charting(snap: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``charting_outcomes`` and ``charting_outcomes_totals`` from a landed snapshot, typed as
    declared and traced to it."""
    data = read_charting(snap.local_path)
    outcomes = TABLES["charting_outcomes"].coerce(charting_outcomes_frame(data).assign(**provenance("charting", snap)))
    totals = TABLES["charting_outcomes_totals"].coerce(charting_totals_frame(data).assign(**provenance("charting", snap)))
    return outcomes, totals


def stage_nrmp_charting_outcomes(snap: Snapshot) -> Staged:
    """``charting_outcomes`` and ``charting_outcomes_totals`` of a landed Charting Outcomes."""
    outcomes, totals = parse_charting(snap)
    return Staged(snap.source, {"charting_outcomes": outcomes, "charting_outcomes_totals": totals})
