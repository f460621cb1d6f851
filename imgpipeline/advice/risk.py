"""The applicant risk tier: the article's framework, read from the rulebook's ``risk`` section.

Every factor is a small rule over the derived applicant columns (``applicant.applicant_frame``)
with the article's words beside it; the tier is the riskiest tier among the factors that fired.
The same rules are read two ways: column-wise over a frame of many profiles (``assess_frame``:
``Clause.mask``) and value by value for one profile's typed values (``assess_values``:
``Clause.holds``, no pandas: what an applicant waits on); ``assess`` and ``assess_row`` spell one
profile's factors out. A clause holds on a value exactly where its mask holds on a column
holding that value (tests/test_risk.py checks both ways agree).
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.advice.profile import (
    APPLICANT_COLUMNS,
    VISA_LABEL,
    ApplicantProfile,
    applicant_values,
    typed_row,
)
from imgpipeline.settings import Settings

TierId = Literal["lower", "moderately_low", "high", "very_high"]
TIERS: tuple[str, ...] = ("lower", "moderately_low", "high", "very_high")

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class Clause(BaseModel):
    """``field op value``: a comparison on one derived applicant column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in"]
    value: Any

    @model_validator(mode="after")
    def _known(self) -> Clause:
        if self.field not in APPLICANT_COLUMNS:
            raise ValueError(f"unknown applicant field {self.field!r}")
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("op 'in' needs a list value")
        return self

    def text(self) -> str:
        return f"{self.field} {self.op} {self.value}"

    def mask(self, df: pd.DataFrame | Columns) -> np.ndarray:
        """Where the clause holds; a missing value never holds."""
        col = df[self.field]
        fast = _numeric_mask(col, self.op, self.value, df.floats(self.field) if isinstance(df, Columns) else None)
        if fast is None:
            fast = _text_mask(col, self.op, self.value)
        if fast is not None:
            return fast
        if self.op == "in":
            hit = col.isin(self.value)
        else:
            hit = _OPS[self.op](col, self.value)
        return np.asarray(pd.array(hit, dtype="boolean").fillna(False), dtype=bool) & col.notna().to_numpy()

    def holds(self, value: Any) -> bool:
        """Whether the clause holds for one value (``mask`` for a single row); a missing value
        (None) never holds."""
        if value is None:
            return False
        if self.op == "in":
            return value in self.value
        return bool(_OPS[self.op](value, self.value))


class Columns:
    """A frame's columns as the clauses read them, each column taken from the frame and
    converted to floats once however many clauses read it (``Clause.mask`` accepts it for the
    frame: a factor's dozens of clauses each took their column from the frame again, which was
    most of the tiers' time)."""

    def __init__(self, df: pd.DataFrame):
        self.df, self._cols, self._floats = df, {}, {}

    def __len__(self) -> int:
        return len(self.df)

    def __getitem__(self, name: str) -> pd.Series:
        col = self._cols.get(name)
        if col is None:
            col = self._cols[name] = self.df[name]
        return col

    def floats(self, name: str) -> Callable[[], np.ndarray]:
        """The column as floats (missing values as NaN), converted on first use."""

        def get() -> np.ndarray:
            values = self._floats.get(name)
            if values is None:
                values = self._floats[name] = self[name].to_numpy(dtype=float, na_value=np.nan)
            return values

        return get


def _numeric_mask(col: pd.Series, op: str, value: Any, floats: Callable[[], np.ndarray] | None = None) -> np.ndarray | None:
    """``Clause.mask`` on a numeric or boolean column against a number, in NumPy (missing
    values as NaN, then masked out: the same truth values as the pandas comparison, without
    its nullable arrays); None where this does not apply (text, ``in``, a non-number).
    ``floats``: the column as floats, if already known."""
    if op == "in" or isinstance(value, str) or not isinstance(value, (int, float)):
        return None
    if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
        return None
    values = col.to_numpy(dtype=float, na_value=np.nan) if floats is None else floats()
    known = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        return _OPS[op](values, float(value)) & known


def _text_mask(col: pd.Series, op: str, value: Any) -> np.ndarray | None:
    """``Clause.mask`` on an Arrow-backed text column against text (``==``, ``!=``, ``in`` a
    list of text) by Arrow's compute kernels on the column's own strings: the truth values of
    pandas' comparison (missing values masked out), without its per-clause overhead (the visa
    clauses were half of a chunk's risk factors' time); None where this does not apply."""
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return None
    data = pa.array(col.array)                      # the column's own strings (__arrow_array__)
    if op in ("==", "!=") and isinstance(value, str):
        hit = (pc.equal if op == "==" else pc.not_equal)(data, pa.scalar(value, type=data.type))
    elif op == "in" and all(isinstance(v, str) for v in value):
        hit = pc.is_in(data, value_set=pa.array(value, type=data.type))
    else:
        return None
    return np.asarray(pc.and_kleene(hit, pc.is_valid(data)).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def named_rows(names: list[str], fired: np.ndarray) -> np.ndarray:
    """Per row of ``fired`` (rows x names, bool), the list of the names that fired there, in
    the order given, as an object array: each distinct pattern's list is built once and shared
    by the rows that have it (read-only values; a batch has few patterns)."""
    n = fired.shape[0]
    _, first, codes = np.unique(_pattern_codes(np.ascontiguousarray(fired, dtype=bool)), return_index=True, return_inverse=True)
    rows, cols = np.nonzero(fired[first])              # in row order, names in order within a row
    ends = np.cumsum(np.bincount(rows, minlength=len(first))).tolist()
    flat = np.array(names, dtype=object)[cols].tolist()
    lists = np.fromiter((flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)), dtype=object, count=len(first))
    return lists[codes.ravel()] if n else np.empty(0, dtype=object)


def _pattern_codes(fired: np.ndarray) -> np.ndarray:
    """Each row's pattern of ``fired`` as a code, equal codes for equal patterns: up to 64
    names, its bits as one integer (sorted as integers, not byte by byte as a void would be),
    else its packed bytes ranked."""
    n, k = fired.shape
    if k == 0:
        return np.zeros(n, dtype=np.int64)
    packed = np.packbits(fired, axis=1)
    if k <= 64:
        whole = np.zeros((n, 8), dtype=np.uint8)
        whole[:, : packed.shape[1]] = packed
        return whole.view(np.uint64).ravel()
    return np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_inverse=True)[1].ravel()


def holds_all(clauses: tuple[Clause, ...], row: Mapping[str, Any]) -> bool:
    """Whether every clause holds for one profile's typed values (``applicant_values``)."""
    for c in clauses:
        if not c.holds(row[c.field]):
            return False
    return True


# Each factor's rule in words and the values it reads, worked out once per factor object (keyed
# by its id, with the object kept alive beside what was worked out: ``_once``).
_RULE_WORDS: dict[int, tuple[Factor, str]] = {}
_READS: dict[int, tuple[Factor, frozenset[str] | None]] = {}


def _once(memo: dict[int, tuple[Any, Any]], f: Factor, work: Callable[[Factor], Any]) -> Any:
    """``work(f)``, worked out once per factor object (a copy with other fields is another
    object: worked out again)."""
    hit = memo.get(id(f))
    if hit is None or hit[0] is not f:
        hit = memo[id(f)] = (f, work(f))
    return hit[1]


def _reads(f: Factor) -> frozenset[str] | None:
    """``Factor.reads`` worked out: the clauses' fields and the root of every field ``says``
    formats (``{x}``, ``{x.attr}``, ``{x[0]}``); None if a format spec nests a field."""
    fields = {c.field for c in f.when + f.when_any}
    for _, name, spec, _ in string.Formatter().parse(f.says):
        if spec and "{" in spec:
            return None
        if name is not None:
            fields.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return frozenset(fields)


class Factor(BaseModel):
    """One risk factor of the article, as a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    tier: TierId
    says: str
    article: str
    effect: Literal["raises", "notes"] = "raises"
    decision: str | None = None
    when: tuple[Clause, ...]
    when_any: tuple[Clause, ...] = ()

    def reads(self) -> frozenset[str] | None:
        """The applicant values the factor reads: its clauses' fields and the fields its
        ``says`` names (None when a field cannot be told: a nested format spec). A profile
        alike in these values fires it alike, with the same words (``assess_values``' ``like``);
        worked out once per factor."""
        return _once(_READS, self, _reads)

    def rule(self) -> str:
        """The rule in words: its clauses and thresholds (worded once per factor)."""
        return _once(_RULE_WORDS, self, Factor._words)

    def _words(self) -> str:
        text = " and ".join(c.text() for c in self.when)
        if self.when_any:
            text += " and (" + " or ".join(c.text() for c in self.when_any) + ")"
        return text

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(df), dtype=bool)
        for c in self.when:
            out &= c.mask(df)
        if self.when_any:
            anyhit = np.zeros(len(df), dtype=bool)
            for c in self.when_any:
                anyhit |= c.mask(df)
            out &= anyhit
        return out

    def fires(self, row: Mapping[str, Any]) -> bool:
        """``mask`` for one profile's typed values."""
        if not holds_all(self.when, row):
            return False
        for c in self.when_any:
            if c.holds(row[c.field]):
                return True
        return not self.when_any


class TierDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TierId
    label: str
    article: str


class RiskRules(BaseModel):
    """The rulebook's ``risk`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[TierDef, ...]
    factors: tuple[Factor, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> RiskRules:
        if tuple(t.id for t in self.tiers) != TIERS:
            raise ValueError(f"risk.tiers must be, in order, {TIERS}")
        ids = [f.id for f in self.factors]
        if len(set(ids)) != len(ids):
            raise ValueError("risk.factors ids repeat")
        return self

    def label(self, tier: str) -> str:
        return next(t.label for t in self.tiers if t.id == tier)


class ListSize(BaseModel):
    """How many IM programs to apply to, per the article."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int = Field(ge=1)
    max: int
    open_ended: bool
    mix: str
    article: str

    def text(self) -> str:
        return f"{self.min}-{self.max}{'+' if self.open_ended else ''}"


def rules(settings: Settings) -> RiskRules:
    """The ``risk`` section of the settings' rulebook ,
    parsed once per settings object."""
    return settings.rulebook.typed("risk", RiskRules)


def list_sizes(settings: Settings) -> dict[str, ListSize]:
    """The ``list_size`` section, per tier (parsed once per settings object)."""
    return settings.rulebook.typed("list_size", _list_sizes)


def _list_sizes(raw: dict[str, Any]) -> dict[str, ListSize]:
    sizes = {k: ListSize.model_validate(v) for k, v in raw.items()}
    missing = set(TIERS) - set(sizes)
    if missing:
        raise ValueError(f"list_size has no entry for {sorted(missing)}")
    return sizes


def tier_rank(tier: str) -> int:
    """0 for lower risk up to 3 for very high risk."""
    return TIERS.index(tier)


def fired_masks(df: pd.DataFrame, risk: RiskRules) -> dict[str, np.ndarray]:
    """Per factor, whether it fired for each applicant row (each column read once: ``Columns``)."""
    cols = Columns(df)
    return {f.id: f.mask(cols) for f in risk.factors}


def tier_ranks(fired: dict[str, np.ndarray], risk: RiskRules, rows: int) -> np.ndarray:
    """The tier rank of each row: the riskiest tier among the raising factors that fired."""
    ranks = np.zeros(rows, dtype=np.int64)
    for f in risk.factors:
        if f.effect == "raises":
            ranks = np.where(fired[f.id], np.maximum(ranks, tier_rank(f.tier)), ranks)
    return ranks


def assess_frame(df: pd.DataFrame, risk: RiskRules) -> pd.DataFrame:
    """Tiers for many applicants at once: ``df`` has the derived columns of
    ``applicant.applicant_frame``. Returns ``risk_tier``, ``risk_rank`` and ``factors`` (the
    ids of the factors that fired, as a list, tier-raising ones first)."""
    fired = fired_masks(df, risk)
    ranks = tier_ranks(fired, risk, len(df))
    order = [f.id for f in risk.factors if f.effect == "raises"] + [
        f.id for f in risk.factors if f.effect == "notes"
    ]
    matrix = np.column_stack([fired[i] for i in order]) if order else np.zeros((len(df), 0), dtype=bool)
    factors = named_rows(order, matrix)
    return pd.DataFrame(
        {
            "risk_tier": np.array(TIERS, dtype=object)[ranks],
            "risk_rank": ranks,
            "factors": factors,
        },
        index=df.index,
    )


@dataclass(frozen=True)
class FiredFactor:
    """A factor that fired for an applicant, with the rule and the applicant's values."""

    id: str
    tier: str
    effect: str
    says: str
    rule: str
    article: str
    decision: str | None
    values: dict[str, Any]


@dataclass(frozen=True)
class RiskAssessment:
    """An applicant's tier, every factor that fired and how many programs to apply to."""

    tier: str
    label: str
    factors: tuple[FiredFactor, ...]
    notes: tuple[FiredFactor, ...]
    list_size: ListSize

    @property
    def factor_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.factors)

    def explain(self) -> list[str]:
        """One line per factor: what fired, the rule and the article's words."""
        out = [f"{self.label} (apply to {self.list_size.text()} programs: {self.list_size.mix})"]
        for f in self.factors + self.notes:
            kind = "note" if f.effect == "notes" else f.tier
            out.append(f"- [{kind}] {f.says} (rule: {f.rule}; article: \"{f.article}\")")
        if not self.factors:
            out.append("- none of the article's risk factors")
        return out


def _format(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with one profile's typed values (missing as None)."""
    try:
        return template.format_map(values)
    except (KeyError, ValueError, TypeError):
        return template


def assess(
    profile: ApplicantProfile, as_of_year: int | None = None, risk: RiskRules | None = None, *, settings: Settings
) -> RiskAssessment:
    """One applicant's risk tier with every factor that fired (and the notes)."""
    return assess_values(applicant_values(profile, as_of_year), risk, settings=settings)


def frame_row(df: pd.DataFrame, i: int) -> dict[str, Any]:
    """Row ``i`` of an applicant frame as typed values (missing as None), as
    ``applicant.applicant_values`` gives them for one profile."""
    row = {k: df[k].iloc[i] for k in APPLICANT_COLUMNS if k in df}
    return typed_row({k: (None if pd.isna(v) else v) for k, v in row.items()})


def as_values(applicant: pd.DataFrame | Mapping[str, Any]) -> Mapping[str, Any]:
    """One profile's typed values: given as such, or row 0 of an applicant frame."""
    return frame_row(applicant, 0) if isinstance(applicant, pd.DataFrame) else applicant


def assess_row(df: pd.DataFrame, i: int, risk: RiskRules | None = None, *, settings: Settings) -> RiskAssessment:
    """The assessment of row ``i`` of an applicant frame, spelled out (``assess_values``)."""
    return assess_values(frame_row(df, i), risk, settings=settings)


def assess_values(
    row: Mapping[str, Any], risk: RiskRules | None = None, *, settings: Settings,
    like: tuple[Mapping[str, Any], RiskAssessment] | None = None,
) -> RiskAssessment:
    """One profile's assessment from its typed values (``applicant.applicant_values``): the
    rules of ``assess_frame`` (the same factors, the same riskiest-tier ranking), with each
    factor's words and values (the rules and list sizes of ``settings``' rulebook). ``like``:
    another profile's values and assessment by the same rules (a plan's changed profile gives
    its applicant's): a factor reading none of the values that differ (``Factor.reads``) fires
    as it fired there, with the same words, and is not read again."""
    risk = risk or rules(settings)
    out: list[FiredFactor] = []
    words = {**row, "visa_need": VISA_LABEL.get(str(row.get("visa_need")), row.get("visa_need"))}
    changed, before = _differences(row, like)
    for f in risk.factors:
        reads = f.reads() if like is not None else None
        if reads is not None and reads.isdisjoint(changed):
            if f.id in before:
                out.append(before[f.id])
        elif f.fires(row):
            fields = dict.fromkeys(c.field for c in f.when + f.when_any)
            out.append(
                FiredFactor(
                    id=f.id, tier=f.tier, effect=f.effect, says=_format(f.says, words), rule=f.rule(),
                    article=f.article, decision=f.decision, values={k: row[k] for k in fields},
                )
            )
    raising = [f for f in out if f.effect == "raises"]
    tier = TIERS[max((tier_rank(f.tier) for f in raising), default=0)]
    return RiskAssessment(
        tier=tier,
        label=risk.label(tier),
        factors=tuple(sorted(raising, key=lambda f: -tier_rank(f.tier))),
        notes=tuple(f for f in out if f.effect == "notes"),
        list_size=list_sizes(settings)[tier],
    )


def _differences(row: Mapping[str, Any], like: tuple[Mapping[str, Any], RiskAssessment] | None) -> tuple[set[str], dict[str, FiredFactor]]:
    """The values in which ``row`` and ``like``'s differ (in value or type), and the factors
    that fired for ``like``, by id (nothing without ``like``)."""
    if like is None:
        return set(), {}
    other, assessment = like
    changed = {k for k in row.keys() | other.keys() if type(row.get(k)) is not type(other.get(k)) or row.get(k) != other.get(k)}
    return changed, {f.id: f for f in assessment.factors + assessment.notes}
