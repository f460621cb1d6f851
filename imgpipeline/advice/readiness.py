"""Readiness: what makes an applicant's chance figures conditional (a Step not passed, Step 2
CK not taken, no ECFMG certification), and policies the data cannot see for them.

Rules live in the rulebook's ``readiness`` section (the article's words with their section);
the unknown-policy notes count the listed programs that state no policy an applicant could be
excluded by (failed attempts, a graduation-year window) and say to confirm them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from imgpipeline.advice.risk import Clause, as_values, holds_all
from imgpipeline.settings import Settings


class ReadinessRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    says: str
    when: tuple[Clause, ...]
    article: str
    section: str
    figures: str

    def fires(self, df: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(df), dtype=bool)
        for c in self.when:
            out &= c.mask(df)
        return out

    def holds(self, row: Mapping[str, Any]) -> bool:
        """``fires`` for one profile's typed values (``applicant.applicant_values``)."""
        return holds_all(self.when, row)


def readiness_rules(settings: Settings) -> tuple[ReadinessRule, ...]:
    """The ``readiness`` section of the settings' rulebook, validated once per
    settings object."""
    return settings.rulebook.typed("readiness", _readiness_rules)


def _readiness_rules(raw: list[dict[str, Any]]) -> tuple[ReadinessRule, ...]:
    return tuple(ReadinessRule.model_validate(r) for r in raw)


@dataclass(frozen=True)
class Readiness:
    id: str
    says: str
    article: str
    section: str
    figures: str

    def as_dict(self) -> dict[str, str]:
        return dict(vars(self))


def assess_readiness(applicant: pd.DataFrame | Mapping[str, Any], rules: tuple[ReadinessRule, ...]) -> list[Readiness]:
    """The readiness gaps of one profile's typed values (or of row 0 of an applicant frame)."""
    row = as_values(applicant)
    return [Readiness(r.id, r.says, r.article, r.section, r.figures) for r in rules if r.holds(row)]


def unknown_policies(applicant: pd.DataFrame | Mapping[str, Any], listed: Mapping[str, Any], yog_after_years: float) -> list[dict[str, Any]]:
    """For an applicant a policy could exclude, how many listed programs state no such policy:
    the list cannot have screened them, so confirm each. ``listed``: the list's
    ``states_failed_attempts_policy`` and ``states_yog_window`` (a frame or boolean arrays)."""
    row = as_values(applicant)
    out = []
    failures = row["usmle_failures"] or 0
    n = len(listed["states_yog_window"])
    if failures and n:
        silent = int((~np.asarray(listed["states_failed_attempts_policy"], dtype=bool)).sum())
        out.append({
            "id": "failed_attempts_policy_unknown",
            "says": (
                f"{silent} of your {n} listed programs state no policy on failed attempts in the data here: "
                "confirm with each program (website, coordinator) before paying for the application"
            ),
            "article": "Avoid wasting applications on: Programs explicitly stating, 'We do not consider applicants who have failed any USMLE exam'",
            "programs": silent,
        })
    years = row["years_since_graduation"]
    if years is not None and years > yog_after_years and n:
        silent = int((~np.asarray(listed["states_yog_window"], dtype=bool)).sum())
        out.append({
            "id": "yog_policy_unknown",
            "says": (
                f"{silent} of your {n} listed programs state no graduation-year window in the data here "
                f"(you are {int(years)} years out): confirm each program's YOG cutoff"
            ),
            "article": "Look at graduation years to see if they accept older graduates",
            "programs": silent,
        })
    return out
