"""Cross-field consistency of a profile, from the rulebook's ``usmle_passing`` section.

A value can be in range field by field and still be impossible with another: a Step 2 CK of
150 marked passed (USMLE's minimum passing score has never been below 189), a failed Step
with a score every era counts as passing, ECFMG certification without Step 1 and Step 2 CK
passed, a score with no attempt. ``applicant.py`` calls these from its validators, so every
door (file, stdin, the Python API, a batch row) gets the same refusal naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from imgpipeline.settings import Settings

STEP_LABEL = {"step1": "Step 1", "step2ck": "Step 2 CK", "step3": "Step 3"}


@dataclass(frozen=True)
class PassingScore:
    """A minimum passing score and the first exam date it applies to (None: the era before
    the first dated change)."""

    since: date | None
    min_score: int


@dataclass(frozen=True)
class PassingRules:
    source: str
    steps: dict[str, tuple[PassingScore, ...]]
    ecfmg_requires: tuple[str, ...]

    def bounds(self, step: str, year: int | None = None) -> tuple[int, int] | None:
        """(lowest, highest) minimum passing score that may have applied to an exam of
        ``step`` taken in ``year`` (every era when the year is unknown); None for a Step the
        rulebook does not list."""
        eras = self.steps.get(step)
        if not eras:
            return None
        if year is None:
            scores = [e.min_score for e in eras]
        else:
            # Every era that overlaps the year (a change mid-year leaves both possible).
            scores = [
                e.min_score
                for i, e in enumerate(eras)
                if (e.since is None or e.since.year <= year)
                and (i + 1 == len(eras) or eras[i + 1].since is None or eras[i + 1].since.year >= year)
            ] or [eras[0].min_score]
        return min(scores), max(scores)


def rules(settings: Settings) -> PassingRules:
    """The ``usmle_passing`` section of the settings' rulebook, parsed once per
    settings object."""
    return settings.rulebook.typed("usmle_passing", _passing)


def _passing(raw: dict[str, Any]) -> PassingRules:
    steps = {
        step: tuple(
            PassingScore(date.fromisoformat(e["from"]) if e.get("from") else None, int(e["min_score"]))
            for e in raw[step]
        )
        for step in STEP_LABEL
        if step in raw
    }
    return PassingRules(raw["source"], steps, tuple(raw.get("ecfmg_requires", ())))


def exam_problem(step: str, exam: Any, settings: Settings) -> str | None:
    """What is inconsistent in one Step's score, passed flag and attempts, or None."""
    score = getattr(exam, "score", None)
    if score is None:
        return None
    attempts = getattr(exam, "attempts", None)
    if attempts is not None and attempts < 1:
        return f"a score is given, so attempts must be at least 1, got {attempts}"
    if step == "step3" and not getattr(exam, "taken", True):
        return None
    passing = rules(settings)
    b = passing.bounds(step, getattr(exam, "year", None))
    if b is None:
        return None
    low, high = b
    label = STEP_LABEL[step]
    passed = getattr(exam, "passed", None)
    if passed is True and score < low:
        return (
            f"passed is true but score {score} is below the {label} minimum passing score "
            f"({low}; rulebook usmle_passing, {passing.source})"
        )
    if passed is False and score >= high:
        return (
            f"passed is false but score {score} is at or above the {label} minimum passing "
            f"score ({high}; rulebook usmle_passing): a failed attempt's score is below it"
        )
    return None


# Steps a profile may leave out as "not stated" (unknown, so no contradiction); a missing Step 2
# CK means "not taken yet".
NOT_STATED_STEPS = ("step1",)


def ecfmg_problem(certified: Any, steps: dict[str, Any], settings: Settings) -> str | None:
    """ECFMG certification needs the Steps the rulebook lists passed (a Step left out as not
    stated is no contradiction: unknown is not read as failed)."""
    if certified is not True:
        return None
    missing = []
    for step in rules(settings).ecfmg_requires:
        exam = steps.get(step)
        if exam is None and step in NOT_STATED_STEPS:
            continue
        if exam is None or getattr(exam, "passed", None) is not True:
            missing.append(STEP_LABEL.get(step, step))
    if missing:
        return (
            f"is true but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not passed "
            "in this profile: ECFMG certification requires passing Step 1 and Step 2 CK"
        )
    return None
