"""Readiness: what makes an applicant's chance figures conditional (a Step not passed, Step 2
CK not taken, no ECFMG certification), and policies the data cannot see for them.

Rules live in the rulebook's ``readiness`` section (the article's words with their section);
the unknown-policy notes count the listed programs that state no policy an applicant could be
excluded by (failed attempts, a graduation-year window) and say to confirm them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from imgpipeline.advice.risk import Clause
from imgpipeline.rulebook import section
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


def readiness_rules(settings: Settings | None = None) -> tuple[ReadinessRule, ...]:
    return tuple(ReadinessRule.model_validate(r) for r in section("readiness", settings or Settings()))


@dataclass(frozen=True)
class Readiness:
    id: str
    says: str
    article: str
    section: str
    figures: str

    def as_dict(self) -> dict[str, str]:
        return dict(vars(self))


def assess_readiness(applicant: pd.DataFrame, rules: tuple[ReadinessRule, ...]) -> list[Readiness]:
    """The readiness gaps of row 0 of an applicant frame."""
    return [Readiness(r.id, r.says, r.article, r.section, r.figures) for r in rules if r.fires(applicant.iloc[[0]])[0]]


def unknown_policies(applicant: pd.DataFrame, listed: pd.DataFrame, yog_after_years: float) -> list[dict[str, Any]]:
    """For an applicant a policy could exclude, how many listed programs state no such policy:
    the list cannot have screened them, so confirm each."""
    row = applicant.iloc[0]
    out = []
    failures = int(row["usmle_failures"]) if pd.notna(row["usmle_failures"]) else 0
    if failures and len(listed):
        silent = int((~listed["states_failed_attempts_policy"]).sum())
        out.append({
            "id": "failed_attempts_policy_unknown",
            "says": (
                f"{silent} of your {len(listed)} listed programs state no policy on failed attempts in the data here: "
                "confirm with each program (website, coordinator) before paying for the application"
            ),
            "article": "Avoid wasting applications on: Programs explicitly stating, 'We do not consider applicants who have failed any USMLE exam'",
            "programs": silent,
        })
    years = row["years_since_graduation"]
    if pd.notna(years) and years > yog_after_years and len(listed):
        silent = int((~listed["states_yog_window"]).sum())
        out.append({
            "id": "yog_policy_unknown",
            "says": (
                f"{silent} of your {len(listed)} listed programs state no graduation-year window in the data here "
                f"(you are {int(years)} years out): confirm each program's YOG cutoff"
            ),
            "article": "Look at graduation years to see if they accept older graduates",
            "programs": silent,
        })
    return out
