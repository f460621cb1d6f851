"""The applicant profile: what an IMG tells us about themselves, validated field by field.

A profile is read from YAML (``load_profile``) or built in code; a bad value (a Step 2 CK of
350, a graduation year in the future, negative months) fails with a ``ProfileError`` naming the
field. Bounds come from the rulebook's ``applicant`` section. The profile holds no personal
data: no name, no contact details, only an optional opaque ``profile_id``.

``applicant_frame`` turns profiles into the derived, vectorisable columns the risk tier and
the scorer read (failures per Step, years since graduation, USCE months...), so one profile and
100k profiles go through the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from imgpipeline.settings import Settings, given

if TYPE_CHECKING:
    import pandas as pd
from imgpipeline.vocabulary import US_STATES

VisaNeed = Literal["none", "j1", "h1b", "either"]
VISA_LABEL: dict[str, str] = {"none": "no visa", "j1": "J-1", "h1b": "H-1B", "either": "J-1 or H-1B"}
_VISA_ALIASES = {
    "none": "none", "no": "none", "": "none", "false": "none",
    "j1": "j1", "j-1": "j1", "j 1": "j1",
    "h1b": "h1b", "h-1b": "h1b", "h1-b": "h1b", "h 1b": "h1b",
    "either": "either", "any": "either", "j1 or h1b": "either", "j-1 or h-1b": "either",
}

# US Census Bureau regions, so an applicant may prefer "Northeast" rather than list states.
CENSUS_REGIONS: dict[str, tuple[str, ...]] = {
    "northeast": ("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"),
    "midwest": ("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"),
    "south": (
        "DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR",
        "LA", "OK", "TX",
    ),
    "west": ("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "AK", "CA", "HI", "OR", "WA"),
}


class ProfileError(ValueError):
    """A profile that cannot be used: every bad field named, with what was wrong."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "profile"):
        self.problems = problems
        self.source = source
        lines = [f"  - {field}: {msg}" for field, msg in problems]
        super().__init__(f"{source} is not a valid applicant profile:\n" + "\n".join(lines))

    def __reduce__(self) -> tuple[type[ProfileError], tuple[list[tuple[str, str]], str]]:
        """Pickled with its problems (an advice process raises it in the web server)."""
        return type(self), (self.problems, self.source)


class ApplicantBounds(BaseModel):
    """The rulebook's ``applicant`` section: what a profile's values may be."""

    model_config = ConfigDict(extra="forbid")

    usmle_score_min: int
    usmle_score_max: int
    max_attempts: int
    earliest_graduation_year: int
    max_step2ck_years_before_graduation: int
    max_usce_months: float
    max_letters: int
    max_research_items: int
    max_budget_usd: float


def bounds(settings: Settings) -> ApplicantBounds:
    """The bounds of the settings' rulebook, parsed once
    per settings object (validators run per field of every profile)."""
    return settings.rulebook.typed("applicant", ApplicantBounds)


def settings_of(info: ValidationInfo) -> Settings:
    """The settings a profile is validated with (``parse_profile``'s validation context)."""
    settings = info.context.get("settings") if isinstance(info.context, dict) else None
    if settings is None:
        # A TypeError, not a ValueError: pydantic reports it as it is, not as a bad field.
        raise TypeError("validate a profile with parse_profile(data, settings=...): its bounds are the settings' rulebook's")
    return settings


def _check_score(v: int | None, info: ValidationInfo) -> int | None:
    b = bounds(settings_of(info))
    if v is not None and not b.usmle_score_min <= v <= b.usmle_score_max:
        raise ValueError(
            f"must be between {b.usmle_score_min} and {b.usmle_score_max} "
            f"(the USMLE three-digit scale), got {v}"
        )
    return v


def _check_attempts(v: int, info: ValidationInfo) -> int:
    b = bounds(settings_of(info))
    if not 1 <= v <= b.max_attempts:
        raise ValueError(f"must be between 1 and {b.max_attempts} attempts, got {v}")
    return v


def _check_year(v: int | None, what: str, info: ValidationInfo) -> int | None:
    if v is None:
        return v
    b = bounds(settings_of(info))
    this_year = date.today().year
    if v > this_year:
        raise ValueError(f"{what} {v} is in the future (this year is {this_year})")
    if v < b.earliest_graduation_year:
        raise ValueError(f"{what} {v} is before {b.earliest_graduation_year}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Exam(_Strict):
    """What the three Steps share: a score on the USMLE scale, attempts within the rulebook's
    bound, and the failed attempts they imply."""

    passed: bool
    attempts: int = Field(1, description="How many times the Step was taken")

    @field_validator("score", check_fields=False)
    @classmethod
    def _score(cls, v: int | None, info: ValidationInfo) -> int | None:
        return _check_score(v, info)

    @field_validator("attempts")
    @classmethod
    def _attempts(cls, v: int, info: ValidationInfo) -> int:
        return _check_attempts(v, info)

    @model_validator(mode="after")
    def _score_agrees(self, info: ValidationInfo) -> _Exam:
        """A failing score cannot be passed, nor a passing one failed (profile_rules)."""
        from imgpipeline.advice.profile_rules import exam_problem

        if self.score is None:
            # Nothing to check (and a default Step 3 is built without a validation context).
            return self
        problem = exam_problem(type(self).__name__.lower(), self, settings_of(info))
        if problem:
            raise ValueError(problem)
        return self

    @property
    def failures(self) -> int:
        """Failed attempts: every attempt but a passing last one."""
        return self.attempts - 1 if self.passed else self.attempts


class _MayBeUntaken(_Exam):
    """A Step that may not be taken yet (Step 1, Step 3): then it has no pass and no score, and
    its attempts count no failure. Each subclass declares ``taken`` and ``score`` (its own
    defaults, in its own field order)."""

    @model_validator(mode="after")
    def _taken(self) -> _MayBeUntaken:
        if not self.taken and (self.passed or self.score is not None):
            raise ValueError("passed or score given but taken is false")
        return self

    @property
    def failures(self) -> int:
        """Failed attempts; none if the Step was not taken."""
        return super().failures if self.taken else 0


class Step1(_MayBeUntaken):
    """USMLE Step 1: a three-digit score (numeric era) or pass/fail, and how many attempts."""

    score: int | None = Field(None, description="Score of the last attempt (numeric era); none in the pass/fail era")
    passed: bool = Field(True, description="Whether Step 1 has been passed (on the last attempt)")
    taken: bool = Field(True, description="Whether Step 1 has been taken at all")


class Step2CK(_Exam):
    """USMLE Step 2 CK: the score, attempts and the year it was (last) taken."""

    score: int = Field(..., description="Score of the last attempt")
    passed: bool = Field(True, description="Whether the last attempt passed")
    year: int | None = Field(None, description="Year of the last attempt (for the gap after graduation)")

    @field_validator("year")
    @classmethod
    def _year(cls, v: int | None, info: ValidationInfo) -> int | None:
        return _check_year(v, "year", info)


class Step3(_MayBeUntaken):
    """USMLE Step 3: taken or not, passed or not, and the score if known."""

    taken: bool = False
    passed: bool = False
    score: int | None = None


class USCE(_Strict):
    """US clinical experience in months: hands-on (sub-internships, externships, rotations
    with notes and evaluations) and observership-only."""

    hands_on_months: float = 0.0
    observership_months: float = 0.0

    @field_validator("hands_on_months", "observership_months")
    @classmethod
    def _months(cls, v: float, info: ValidationInfo) -> float:
        b = bounds(settings_of(info))
        if v < 0:
            raise ValueError(f"months cannot be negative, got {v:g}")
        if v > b.max_usce_months:
            raise ValueError(f"more than {b.max_usce_months:g} months is not plausible, got {v:g}")
        return v

    @property
    def total_months(self) -> float:
        return self.hands_on_months + self.observership_months


class ApplicantProfile(_Strict):
    """One applicant, as the risk tier and the scorer need them. No personal data."""

    profile_id: str | None = Field(None, description="An opaque id (never a name or e-mail)", max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    step1: Step1 | None = Field(None, description="Step 1 (None: not stated)")
    step2ck: Step2CK | None = Field(None, description="None until Step 2 CK is taken")
    step3: Step3 = Field(default_factory=Step3)
    graduation_year: int
    usce: USCE | None = Field(None, description="US clinical experience (None: not stated; zero months is a statement)")
    us_im_letters: int | None = Field(None, description="Letters from US internal-medicine attendings (None: not stated)")
    research_items: int | None = Field(None, description="Abstracts, posters, presentations, publications, case reports (None: not stated)")
    visa_need: VisaNeed = "none"
    ecfmg_certified: bool | None = Field(None, description="ECFMG certification (None: not stated)")
    unexplained_gaps: bool | None = Field(None, description="Significant unexplained gaps in training or work (None: not stated)")
    recent_clinical_work: bool | None = Field(None, description="Recent clinical practice or training (None: not stated)")
    service_member: bool = Field(False, description="A US service member (military programs are left out for civilians)")
    preferred_states: tuple[str, ...] = Field((), description="State codes or Census regions (Northeast, Midwest, South, West)")
    budget_usd: float | None = Field(None, description="Budget for application fees")

    @field_validator("graduation_year")
    @classmethod
    def _grad(cls, v: int, info: ValidationInfo) -> int:
        out = _check_year(v, "graduation year", info)
        assert out is not None
        return out

    @field_validator("us_im_letters", "research_items", "budget_usd")
    @classmethod
    def _bounded(cls, v: float | None, info: ValidationInfo) -> float | None:
        """Counts and the budget lie between 0 and the rulebook's bound for the field."""
        b = bounds(settings_of(info))
        limit = {
            "us_im_letters": b.max_letters,
            "research_items": b.max_research_items,
            "budget_usd": b.max_budget_usd,
        }[info.field_name]
        if v is not None and not 0 <= v <= limit:
            unit = " USD" if info.field_name == "budget_usd" else ""
            raise ValueError(f"must be between 0 and {limit:g}{unit}, got {v:g}")
        return v

    @field_validator("ecfmg_certified")
    @classmethod
    def _ecfmg(cls, v: bool, info: ValidationInfo) -> bool:
        """ECFMG certification needs Step 1 and Step 2 CK passed (profile_rules)."""
        from imgpipeline.advice.profile_rules import ecfmg_problem

        if any(k not in info.data for k in ("step1", "step2ck")):
            return v  # a Step that failed its own validation is reported there, not twice
        problem = ecfmg_problem(v, {k: info.data[k] for k in ("step1", "step2ck")}, settings_of(info))
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("visa_need", mode="before")
    @classmethod
    def _visa(cls, v: Any) -> Any:
        if v is None or v is False:
            return "none"
        key = str(v).strip().lower()
        if key not in _VISA_ALIASES:
            raise ValueError(f"must be one of none, J-1, H-1B, either; got {v!r}")
        return _VISA_ALIASES[key]

    @field_validator("preferred_states", mode="before")
    @classmethod
    def _states(cls, v: Any) -> Any:
        if v is None:
            return ()
        if isinstance(v, str):
            v = [v]
        out = []
        for item in v:
            text = str(item).strip()
            if text.upper() in US_STATES:
                out.append(text.upper())
            elif text.lower() in CENSUS_REGIONS:
                out.append(text.lower())
            else:
                raise ValueError(
                    f"{text!r} is neither a US state code nor a Census region "
                    f"({', '.join(CENSUS_REGIONS)})"
                )
        return tuple(dict.fromkeys(out))

    @model_validator(mode="after")
    def _timeline(self, info: ValidationInfo) -> ApplicantProfile:
        if self.step2ck is not None and self.step2ck.year is not None:
            # Step 2 CK is often taken in the last years of medical school, rarely earlier.
            years = bounds(settings_of(info)).max_step2ck_years_before_graduation
            if self.step2ck.year < self.graduation_year - years:
                raise ValueError(
                    f"step2ck.year {self.step2ck.year} is more than {years} years before "
                    f"graduation_year {self.graduation_year}"
                )
        return self

    @property
    def preferred_state_codes(self) -> tuple[str, ...]:
        """Preferred states with regions expanded into their states."""
        out: list[str] = []
        for item in self.preferred_states:
            out.extend(CENSUS_REGIONS.get(item, (item,)))
        return tuple(dict.fromkeys(out))

    @property
    def usmle_failures(self) -> int:
        step1 = self.step1.failures if self.step1 else 0
        return step1 + (self.step2ck.failures if self.step2ck else 0) + self.step3.failures

    @property
    def not_stated(self) -> tuple[str, ...]:
        """Optional fields the profile leaves out: they fire no risk factor and add nothing to
        any chance (unknown is not bad), but stating them may change the tier."""
        return tuple(name for name in NOT_STATED_FIELDS if getattr(self, name) is None)


# Optional profile fields whose absence means "not stated", never zero.
NOT_STATED_FIELDS = ("step1", "usce", "us_im_letters", "research_items", "ecfmg_certified", "unexplained_gaps", "recent_clinical_work")


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "profile"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "not a profile field"
        elif e["type"] == "missing":
            msg = "is required"
        out.append((loc, msg))
    return out


def parse_profile(data: dict[str, Any], source: str = "profile", settings: Settings | None = None) -> ApplicantProfile:
    """A profile from a mapping, checked against the bounds and passing scores of the
    settings' rulebook (the environment's without settings, read for this call); every bad
    field is reported at once in a ``ProfileError``."""
    settings = given(settings)
    if not isinstance(data, dict):
        raise ProfileError([("profile", "must be a mapping of fields")], source)
    try:
        return ApplicantProfile.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        raise ProfileError(_problems(exc), source) from None


def load_profile(path: str | Path, settings: Settings | None = None) -> ApplicantProfile:
    """A profile from a YAML file (``-``: stdin), read through ``safe_input`` (size, encoding,
    aliases, duplicate keys, nesting: ``safe_input.InputRefused``) then validated."""
    from imgpipeline.advice.safe_input import read_profile_mapping

    settings = given(settings)
    data = read_profile_mapping(path, settings=settings)
    return parse_profile(data, "<stdin>" if str(path) == "-" else str(path), settings)


def profile_from_json(body: bytes, source: str = "profile", settings: Settings | None = None) -> ApplicantProfile:
    """A profile from a JSON request body (the API's): a ``ProfileError`` naming the body when
    it is not JSON, else ``parse_profile``'s checks."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError([("body", f"not valid JSON: {exc}")], source) from None
    return parse_profile(data, source, settings)


def profile_from_bytes(body: bytes, source: str = "profile", settings: Settings | None = None) -> ApplicantProfile:
    """A profile from YAML bytes (an HTTP request body), through the same checks as a file."""
    from imgpipeline.advice.safe_input import read_profile_mapping

    settings = given(settings)
    return parse_profile(read_profile_mapping(body, source, settings), source, settings)


# The derived columns the rules and the scorer read; one row per profile.
APPLICANT_COLUMNS: dict[str, str] = {
    "profile_id": "string",
    "step1_score": "Float64",
    "step1_failures": "Int64",
    "step1_passed": "boolean",
    "step2ck_taken": "boolean",
    "step2ck_passed": "boolean",
    "step2ck_score": "Float64",
    "step2ck_failures": "Int64",
    "step3_passed": "boolean",
    "step3_failures": "Int64",
    "usmle_failures": "Int64",
    "years_since_graduation": "Int64",
    "graduation_to_step2ck_years": "Int64",
    "usce_hands_on_months": "Float64",
    "usce_observership_months": "Float64",
    "usce_total_months": "Float64",
    "us_im_letters": "Int64",
    "research_items": "Int64",
    "visa_need": "string",
    "ecfmg_certified": "boolean",
    "unexplained_gaps": "boolean",
    "recent_clinical_work": "boolean",
    "service_member": "boolean",
}


def applicant_row(p: ApplicantProfile, as_of_year: int | None = None) -> dict[str, Any]:
    """One profile's derived values (missing as None)."""
    year = as_of_year or date.today().year
    ck, s1, usce = p.step2ck, p.step1, p.usce
    return {
        "profile_id": p.profile_id,
        "step1_score": s1.score if s1 else None,
        "step1_failures": s1.failures if s1 else 0,
        "step1_passed": s1.passed if s1 else None,
        "step2ck_taken": ck is not None,
        "step2ck_passed": ck.passed if ck else None,
        "step2ck_score": ck.score if ck else None,
        "step2ck_failures": ck.failures if ck else 0,
        "step3_passed": p.step3.taken and p.step3.passed,
        "step3_failures": p.step3.failures,
        "usmle_failures": p.usmle_failures,
        "years_since_graduation": year - p.graduation_year,
        "graduation_to_step2ck_years": (ck.year - p.graduation_year) if ck and ck.year else None,
        "usce_hands_on_months": usce.hands_on_months if usce else None,
        "usce_observership_months": usce.observership_months if usce else None,
        "usce_total_months": usce.total_months if usce else None,
        "us_im_letters": p.us_im_letters,
        "research_items": p.research_items,
        "visa_need": p.visa_need,
        "ecfmg_certified": p.ecfmg_certified,
        "unexplained_gaps": p.unexplained_gaps,
        "recent_clinical_work": p.recent_clinical_work,
        "service_member": p.service_member,
    }


_CASTS: dict[str, type] = {"Float64": float, "Int64": int, "boolean": bool, "string": str}


def typed_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of derived values with the types of ``applicant_frame``'s columns (a Float64
    column's values as float...), missing as None: one profile's values without a frame."""
    return {k: (None if row.get(k) is None else _CASTS[t](row[k])) for k, t in APPLICANT_COLUMNS.items()}


def applicant_values(p: ApplicantProfile, as_of_year: int | None = None) -> dict[str, Any]:
    """One profile's derived values, typed as ``applicant_frame`` types them (no pandas)."""
    return typed_row(applicant_row(p, as_of_year))


def applicant_frame(
    profiles: Iterable[ApplicantProfile] | Sequence[ApplicantProfile],
    as_of_year: int | None = None,
) -> pd.DataFrame:
    """Profiles as one typed frame of derived columns (``APPLICANT_COLUMNS``): the input of
    ``risk.assess_frame`` and ``scoring.score_programs``."""
    rows = [applicant_row(p, as_of_year) for p in profiles]
    import pandas as pd  # here, not at import: a refused profile never pays for pandas

    df = pd.DataFrame(rows, columns=list(APPLICANT_COLUMNS))
    return df.astype(APPLICANT_COLUMNS)
