"""Chance of matching in internal medicine for a non-US IMG, as a function of Step 2 CK (and
of contiguous ranks), estimated from NRMP Charting Outcomes 2026.

NRMP publishes no match rate by score band, only the distribution of each measure among the
non-US IMGs who matched and who did not (n, min, quartiles, max, mean, SD) and the totals. So:

1. **Reconstruct** each published distribution: a truncated skew-normal (scores) or a shifted
   negative binomial (counts such as ranks), fitted to the published quartiles, mean and SD and
   truncated to the published min and max (``reconstruct``).
2. **Fit** P(match | value) with scikit-learn's ``LogisticRegression`` on a deterministic
   quantile sample of each reconstruction (n as published), weighted so the classes carry the
   published totals (IM: 3,392 matched of 6,992).
3. **Band**: a parametric bootstrap. Each replicate draws samples of the published sizes from the
   reconstructions and a matched count from the binomial of the totals, and refits, alternating
   the primary logit form with the rulebook's alternatives (model-form uncertainty, largest in
   the tails). Every fitted curve is projected to be non-decreasing (isotonic regression).
4. **Support**: outside the published min..max no value is given (``extrapolated``: only the
   bound monotonicity implies); between the min and the quartiles it is flagged ``tail``.

Pure functions of the staged Charting Outcomes tables; no Prefect, no GX.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import optimize, stats
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from imgpipeline.settings import Settings
from imgpipeline.text import markdown_table

log = logging.getLogger(__name__)

Term = Literal["x", "x2", "log_x"]
SUPPORT = ("core", "tail", "extrapolated")


class MeasureSpec(BaseModel):
    """How one measure's curve is fitted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Literal["skewnorm", "negbin"]
    grid_first: int
    grid_last: int
    logit_terms: tuple[Term, ...] = Field(min_length=1)
    alternative_logit_terms: tuple[tuple[Term, ...], ...] = ()

    @model_validator(mode="after")
    def _grid(self) -> MeasureSpec:
        if self.grid_last <= self.grid_first:
            raise ValueError("grid_last must be above grid_first")
        return self


class ProbabilityRules(BaseModel):
    """The rulebook's ``match_probability`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specialty: str
    bootstrap_replicates: int = Field(ge=20)
    band: tuple[float, float]
    tail_below: Literal["lower_q1"] = "lower_q1"
    measures: dict[str, MeasureSpec]

    @model_validator(mode="after")
    def _band(self) -> ProbabilityRules:
        lo, hi = self.band
        if not 0 < lo < hi < 1:
            raise ValueError("band must be two probabilities, low < high")
        return self


def rules(settings: Settings) -> ProbabilityRules:
    return settings.rulebook.typed("match_probability", ProbabilityRules)


@dataclass
class Reconstruction:
    """A distribution consistent with one published summary: values on a grid with their
    probabilities, and how well it reproduces the published statistics."""

    family: str
    lo: float
    hi: float
    x: np.ndarray
    p: np.ndarray
    published: dict[str, float]
    fitted: dict[str, float] = field(default_factory=dict)

    @property
    def cdf(self) -> np.ndarray:
        c = np.cumsum(self.p)
        return c / c[-1]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles: interpolated on the grid for scores, steps for counts."""
        if self.family == "negbin":
            idx = np.searchsorted(self.cdf, u, side="left")
            return self.x[np.clip(idx, 0, len(self.x) - 1)]
        c = np.concatenate([[0.0], self.cdf])
        edges = np.concatenate([[self.x[0]], (self.x[1:] + self.x[:-1]) / 2, [self.x[-1]]])
        return np.interp(u, c, edges)

    def quantile_sample(self, n: int) -> np.ndarray:
        """n values at the quantile levels (i + 0.5) / n: a deterministic sample."""
        return self.ppf((np.arange(n) + 0.5) / n)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.ppf(rng.random(n))


def _summary(x: np.ndarray, p: np.ndarray, discrete: bool) -> dict[str, float]:
    p = p / p.sum()
    c = np.cumsum(p)
    if discrete:
        qs = [float(x[np.searchsorted(c, t)]) for t in (0.25, 0.5, 0.75)]
    else:
        qs = [float(np.interp(t, c, x)) for t in (0.25, 0.5, 0.75)]
    mean = float((p * x).sum())
    sd = float(np.sqrt((p * (x - mean) ** 2).sum()))
    return {"q1": qs[0], "median": qs[1], "q3": qs[2], "mean": mean, "sd": sd}


def reconstruct(st: Mapping[str, Any], family: str) -> Reconstruction:
    """A distribution matching a published summary (min, q1, median, q3, max, mean, sd).

    ``skewnorm``: a skew-normal truncated to [min, max], fitted by least squares to the
    quartiles, mean and SD. ``negbin``: counts from min up, a negative binomial shifted to start
    at min and truncated at max, fitted to the mean and SD (quartiles are checked, not fitted:
    they are integers)."""
    lo, hi = float(st["min"]), float(st["max"])
    published = {k: float(st[k]) for k in ("q1", "median", "q3", "mean", "sd")}
    if family == "skewnorm":
        x = np.linspace(lo, hi, 2001)
        target = np.array([published[k] for k in ("q1", "median", "q3", "mean", "sd")])

        def pdf(theta: np.ndarray) -> np.ndarray:
            a, loc, log_scale = theta
            return stats.skewnorm.pdf(x, a, loc, np.exp(log_scale))

        def loss(theta: np.ndarray) -> float:
            d = pdf(theta)
            if not np.isfinite(d).all() or d.sum() <= 0:
                return 1e12
            s = _summary(x, d, discrete=False)
            return float(np.sum((np.array(list(s.values())) - target) ** 2))

        starts = [[a0, published["median"], np.log(published["sd"])] for a0 in (-3.0, -1.0, 0.0, 1.0, 3.0)]
        best = min(
            (optimize.minimize(loss, s0, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-9}) for s0 in starts),
            key=lambda r: r.fun,
        )
        p = pdf(best.x)
        discrete = False
    elif family == "negbin":
        x = np.arange(lo, hi + 1)
        target = np.array([published["mean"], published["sd"]])

        def pmf(theta: np.ndarray) -> np.ndarray:
            n, q = np.exp(theta[0]), 1 / (1 + np.exp(-theta[1]))
            return stats.nbinom.pmf(x - lo, n, q)

        def loss(theta: np.ndarray) -> float:
            d = pmf(theta)
            if not np.isfinite(d).all() or d.sum() <= 0:
                return 1e12
            s = _summary(x, d, discrete=True)
            return float((s["mean"] - target[0]) ** 2 + (s["sd"] - target[1]) ** 2)

        best = min(
            (optimize.minimize(loss, s0, method="Nelder-Mead") for s0 in ([0.0, 0.0], [1.0, -1.0], [-1.0, 1.0])),
            key=lambda r: r.fun,
        )
        p = pmf(best.x)
        discrete = True
    else:
        raise ValueError(f"unknown family {family!r}")
    p = p / p.sum()
    return Reconstruction(family, lo, hi, x, p, published, _summary(x, p, discrete))


def _design(terms: tuple[str, ...]) -> FunctionTransformer:
    def make(v: np.ndarray) -> np.ndarray:
        x = np.asarray(v, dtype=float).reshape(-1)
        cols = {"x": x, "x2": x**2, "log_x": np.log(np.maximum(x, 1e-9))}
        return np.column_stack([cols[t] for t in terms])

    return FunctionTransformer(make)


def _fit(
    matched: np.ndarray, unmatched: np.ndarray, prior: float, terms: tuple[str, ...], grid: np.ndarray
) -> np.ndarray:
    """P(match | value) on ``grid``: logistic regression on the two samples, each class
    weighted to its share of the published totals, then made non-decreasing.

    Both measures are integers as NRMP reports them, so the samples are rounded and collapsed
    into (value, count) rows: the same likelihood, a fraction of the work."""
    xs, ys, ws = [], [], []
    for sample, label, share in ((matched, 1.0, prior), (unmatched, 0.0, 1 - prior)):
        values, counts = np.unique(np.round(sample), return_counts=True)
        xs.append(values)
        ys.append(np.full(len(values), label))
        ws.append(counts * share / len(sample))
    X = np.concatenate(xs).reshape(-1, 1)
    y = np.concatenate(ys)
    w = np.concatenate(ws)
    w *= (len(matched) + len(unmatched)) / w.sum()
    model = make_pipeline(
        _design(terms), StandardScaler(), LogisticRegression(C=1e6, solver="newton-cholesky", max_iter=200)
    )
    model.fit(X, y, logisticregression__sample_weight=w)
    p = model.predict_proba(grid.reshape(-1, 1))[:, 1]
    return IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0).fit_transform(grid, p)


@dataclass
class MeasureFit:
    """What one measure's fit saw: the reconstructions, the prior and the curve."""

    measure: str
    matched: Reconstruction
    unmatched: Reconstruction
    n_matched: int
    n_not_matched: int
    img_matched: int
    img_total: int
    curve: pd.DataFrame


def _stats(outcomes: pd.DataFrame, specialty: str, measure: str, outcome: str) -> dict[str, Any]:
    rows = outcomes[(outcomes["specialty"] == specialty) & (outcomes["measure"] == measure) & (outcomes["outcome"] == outcome)]
    if len(rows) != 1:
        raise ValueError(f"charting_outcomes has {len(rows)} rows for {specialty} / {measure} / {outcome}")
    row = rows.iloc[0]
    if bool(row["suppressed"]) or pd.isna(row["median"]):
        raise ValueError(f"{specialty} / {measure} / {outcome}: NRMP publishes no distribution")
    return {k: row[k] for k in ("n", "min", "q1", "median", "q3", "max", "mean", "sd")}


def fit_measure(
    outcomes: pd.DataFrame,
    totals: pd.DataFrame,
    measure: str,
    spec: MeasureSpec,
    specialty: str,
    replicates: int,
    band: tuple[float, float],
    seed: int,
) -> MeasureFit:
    """The curve of one measure with its band and support flags."""
    sm = _stats(outcomes, specialty, measure, "matched")
    sn = _stats(outcomes, specialty, measure, "not_matched")
    tot = totals[totals["specialty"] == specialty]
    if len(tot) != 1:
        raise ValueError(f"charting_outcomes_totals has no single row for {specialty}")
    img_matched, img_total = int(tot["img_matched"].iloc[0]), int(tot["img_total"].iloc[0])
    prior = img_matched / img_total
    rm, rn = reconstruct(sm, spec.family), reconstruct(sn, spec.family)
    n_m, n_n = int(sm["n"]), int(sn["n"])

    grid = np.arange(spec.grid_first, spec.grid_last + 1, dtype=float)
    lo, hi = min(rm.lo, rn.lo), max(rm.hi, rn.hi)
    inside = (grid >= lo) & (grid <= hi)
    g_in = grid[inside]

    point = _fit(rm.quantile_sample(n_m), rn.quantile_sample(n_n), prior, spec.logit_terms, g_in)
    forms = (spec.logit_terms, *spec.alternative_logit_terms)
    reps = _bootstrap(rm, rn, n_m, n_n, img_total, prior, forms, g_in, replicates, seed)
    low = np.minimum(np.quantile(reps, band[0], axis=0), point)
    high = np.maximum(np.quantile(reps, band[1], axis=0), point)

    core_lo, core_hi = min(sm["q1"], sn["q1"]), max(sm["q3"], sn["q3"])
    support = np.where(~inside, "extrapolated", np.where((grid >= core_lo) & (grid <= core_hi), "core", "tail"))
    p_match = np.full(len(grid), np.nan)
    p_low = np.empty(len(grid))
    p_high = np.empty(len(grid))
    p_match[inside], p_low[inside], p_high[inside] = point, low, high
    below, above = grid < lo, grid > hi
    # Outside the data only monotonicity speaks: below the minimum the chance is at most the
    # upper bound at the minimum; above the maximum at least the lower bound at the maximum.
    p_low[below], p_high[below] = 0.0, high[0]
    p_low[above], p_high[above] = low[-1], 1.0
    curve = pd.DataFrame(
        {
            "specialty": specialty,
            "measure": measure,
            "value": grid.astype(np.int64),
            "p_match": p_match,
            "p_match_low": p_low,
            "p_match_high": p_high,
            "support": support,
            "n_matched": n_m,
            "n_not_matched": n_n,
            "img_matched": img_matched,
            "img_total": img_total,
            "method": _method_text(spec, forms, replicates, band),
        }
    )
    return MeasureFit(measure, rm, rn, n_m, n_n, img_matched, img_total, curve)


def _bootstrap(
    rm: Reconstruction, rn: Reconstruction, n_m: int, n_n: int, img_total: int, prior: float,
    forms: tuple[tuple[str, ...], ...], g_in: np.ndarray, replicates: int, seed: int,
) -> np.ndarray:
    """The curve refitted on ``replicates`` resamples (the base rate resampled too), the logit
    forms taken in turn: one row per replicate."""
    rng = np.random.default_rng(seed)
    reps = np.empty((replicates, len(g_in)))
    for b in range(replicates):
        prior_b = rng.binomial(img_total, prior) / img_total
        reps[b] = _fit(rm.sample(n_m, rng), rn.sample(n_n, rng), prior_b, forms[b % len(forms)], g_in)
    return reps


def _method_text(spec: MeasureSpec, forms: tuple[tuple[str, ...], ...], replicates: int, band: tuple[float, float]) -> str:
    forms_text = " | ".join("+".join(f) for f in forms)
    return (
        f"logistic regression on reconstructed {spec.family} distributions "
        f"(logit terms {'+'.join(spec.logit_terms)}); band: {replicates} bootstrap "
        f"replicates, {band[0]:.1%}-{band[1]:.1%}, logit forms {forms_text}"
    )


def fit_curves(
    outcomes: pd.DataFrame, totals: pd.DataFrame, settings: Settings, rules_: ProbabilityRules | None = None
) -> list[MeasureFit]:
    """Every measure of the rulebook, fitted (bootstrap seeded by ``settings.random_seed``)."""
    r = rules_ or rules(settings)
    seed = settings.random_seed
    return [
        fit_measure(outcomes, totals, m, spec, r.specialty, r.bootstrap_replicates, r.band, seed + i)
        for i, (m, spec) in enumerate(r.measures.items())
    ]


def build_match_probability_curve(outcomes: pd.DataFrame, totals: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The published ``match_probability_curve`` table, traced to the Charting Outcomes
    snapshot the staged tables came from."""
    return curve_table(fit_curves(outcomes, totals, settings), outcomes)


def curve_table(fits: list[MeasureFit], outcomes: pd.DataFrame) -> pd.DataFrame:
    """The fitted curves as the declared table, with the provenance of ``outcomes``."""
    from imgpipeline.tables import TABLES

    curve = pd.concat([f.curve for f in fits], ignore_index=True)
    for col in ("charting_snapshot", "charting_as_of", "charting_sha256"):
        values = outcomes[col].dropna().unique()
        if len(values) != 1:
            raise ValueError(f"charting_outcomes mixes snapshots: {col} = {list(values)}")
        curve[col] = values[0]
    return TABLES["match_probability_curve"].coerce(curve)


def curve_summary_markdown(curve: pd.DataFrame, scores: tuple[int, ...] = (209, 215, 220, 225, 230, 240, 250, 260)) -> str:
    """The run-summary section: the Step 2 CK curve at a few scores, with band and support."""
    c = curve[curve["measure"] == "step2ck"].set_index("value")
    first = c.index[c["support"] != "extrapolated"].min()
    lines = [
        f"P(match) for non-US IMGs in {c['specialty'].iloc[0]} by Step 2 CK (published rate "
        f"{int(c['img_matched'].iloc[0]):,} / {int(c['img_total'].iloc[0]):,} = "
        f"{c['img_matched'].iloc[0] / c['img_total'].iloc[0]:.3f}); below {first} no value "
        f"(extrapolated: at most {c.loc[first, 'p_match_high']:.2f}).",
        "",
    ]
    rows = [
        (s, "" if pd.isna(r["p_match"]) else f"{r['p_match']:.2f}", f"{r['p_match_low']:.2f}-{r['p_match_high']:.2f}", r["support"])
        for s in scores if s in c.index for r in [c.loc[s]]
    ]
    return "\n".join([*lines, markdown_table(["Step 2 CK", "p_match", "band", "support"], rows)])
