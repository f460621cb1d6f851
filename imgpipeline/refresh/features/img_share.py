"""IMG share: FREIDA's stated share of current residents who are IMGs, or an imputed one.

A stated share is never changed. A missing share is imputed by gradient boosting
(scikit-learn's HistGradientBoostingRegressor, absolute-error loss) from the program's other
signals, with a prediction interval from conformalized quantile regression (quantile models
at the interval's two ends, widened by the cross-validated conformity score so the interval
reaches its nominal coverage). A program with fewer than the rulebook's minimum of signals
(e.g. no type, no positions and no interviews) stays unknown: nothing is imputed from nothing.

``cross_validate`` measures the imputation on programs with a stated share: K-fold MAE of the
point estimate (against two baselines), and the empirical coverage and width of the interval,
each fold's interval widened by the conformity scores of the other folds only, so a fold's own
labels never calibrate its own interval. The final interval is widened by all folds' scores.
FREIDA's DO share is missing exactly where the IMG share is, so it cannot serve as a predictor;
so is the 2016 FREIDA share (every program that had one in 2016 states one today).

Peer signals (``peer_features``): the mean stated share of a program's other programs in the
same health system, state and city, computed from training labels only: inside each CV fold
from the training folds, and for the training rows themselves from the other inner folds
(cross-fitting), so no row's own label ever reaches its own inputs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imgpipeline.refresh.features.rules import ImgSharePeers, ImgShareRules
from imgpipeline.refresh.features.signals import PROGRAM_TYPES, STATE_REGION
from imgpipeline.text import markdown_table

log = logging.getLogger(__name__)

PREDICTORS = (
    "program_type",
    "first_year_positions",
    "interviews_last_year",
    "interviews_per_position",
    "census_region",
    "lists_j1",
    "lists_h1b",
    "lists_f1",
    "offers_preliminary",
    "accreditation_age_years",
    "us_government",
    "avg_hours_on_duty_y1",
    "name_says_university",
)
CATEGORICAL = ("program_type", "census_region")


def predictor_frame(programs: pd.DataFrame, as_of_year: int) -> pd.DataFrame:
    """The model's inputs, one row per program. Zero positions or interviews (new programs
    that have not recruited yet) count as missing, not as a size."""
    pos = programs["first_year_positions"].astype("Float64").astype(float)
    iv = programs["interviews_last_year"].astype("Float64").astype(float)
    pos = pos.where(pos > 0)
    iv = iv.where(iv > 0)
    out = pd.DataFrame(index=programs.index)
    out["program_type"] = pd.Categorical(
        programs["program_type_stated"].map(PROGRAM_TYPES), categories=list(PROGRAM_TYPES.values())
    )
    out["first_year_positions"] = pos
    out["interviews_last_year"] = iv
    out["interviews_per_position"] = iv / pos
    out["census_region"] = pd.Categorical(
        programs["state"].map(STATE_REGION), categories=["Northeast", "Midwest", "South", "West"]
    )
    for col in ("lists_j1", "lists_h1b", "lists_f1", "offers_preliminary"):
        out[col] = programs[col].astype("boolean").astype("Float64").astype(float)
    out["accreditation_age_years"] = (as_of_year - programs["acgme_first_year"].astype("Float64")).astype(float)
    gov = programs["affiliated_us_government"]
    out["us_government"] = gov.eq("Other US Government programs").astype(float).where(gov.notna())
    out["avg_hours_on_duty_y1"] = programs["avg_hours_on_duty_y1"].astype("Float64").astype(float)
    out["name_says_university"] = (
        programs["program_name"].str.contains(r"University|College of Medicine|School of Medicine", case=False).astype(float)
    )
    return out[list(PREDICTORS)]


def system_key(program_names: pd.Series, peers: ImgSharePeers) -> pd.Series:
    """The health system or sponsor a program belongs to, from its ACGME name: the sponsor is
    the name before any "(", "/" or " - " (without " Program"); the system is its first word,
    lowercased, or its first two where the first is one of the rulebook's generic words
    ("University of Kentucky ..." -> "university of", "HCA Florida ..." -> "hca")."""
    generic = {w.lower() for w in peers.system_generic_words}
    sponsor = (
        program_names.fillna("")
        .str.replace(r"\s+Program\b.*$", "", regex=True)
        .map(lambda n: re.split(r"\s*[(/]\s*|\s+-\s+", n)[0].strip().lower())
    )
    words = sponsor.str.split()
    first = words.str[0]
    return first.where(~first.isin(generic), words.str[:2].str.join(" ")).where(sponsor.ne(""))


def peer_keys(programs: pd.DataFrame, peers: ImgSharePeers) -> pd.DataFrame:
    """Each program's key in every peer group of the rulebook (system, state, city)."""
    keys = {
        "system": system_key(programs["program_name"], peers),
        "state": programs["state"],
        "city": programs["state"].astype("str") + "|" + programs["city"].str.lower().str.strip(),
    }
    return pd.DataFrame({g: keys[g].astype(object) for g in peers.groups}, index=programs.index)


def peer_features(
    keys: pd.DataFrame, y: np.ndarray, train: np.ndarray, smoothing: float, folds: int, seed: int
) -> pd.DataFrame:
    """For every row and peer group: ``<group>_peer_share``, the mean label of training rows
    in the row's group, shrunk towards their overall mean as if ``smoothing`` rows at that
    mean were in the group; ``<group>_peers``, how many training rows it averages.

    Only labels where ``train`` is true are read. A row outside the training rows is encoded
    from all of them; a training row from the training rows of the other ``folds`` inner
    folds only (cross-fitting, fixed ``seed``), so its own label never enters its own inputs.
    (Leave-one-out would not do: a row's leave-one-out mean falls as its own label rises, a
    pattern the trees learn in training and never meet on a new program.)"""
    from sklearn.model_selection import KFold

    train = np.asarray(train, bool)
    y = np.asarray(y, float)
    names = [f"{g}_{kind}" for g in keys.columns for kind in ("peer_share", "peers")]
    out = pd.DataFrame(np.nan, index=keys.index, columns=names)

    def encode(source: np.ndarray, target: np.ndarray) -> None:
        if not source.any() or not target.any():
            return
        prior = float(y[source].mean())
        for group in keys.columns:
            stats = pd.DataFrame({"key": keys[group].to_numpy(object)[source], "y": y[source]})
            stats = stats.dropna(subset=["key"]).groupby("key")["y"].agg(["sum", "count"])
            key = keys[group][target]
            s = key.map(stats["sum"]).fillna(0.0).to_numpy(float)
            n = key.map(stats["count"]).fillna(0.0).to_numpy(float)
            share = (s + smoothing * prior) / np.where(n + smoothing > 0, n + smoothing, np.nan)
            out.loc[target, f"{group}_peer_share"] = share
            out.loc[target, f"{group}_peers"] = n

    encode(train, ~train)
    rows = np.flatnonzero(train)
    if len(rows) >= 2:
        inner = KFold(min(folds, len(rows)), shuffle=True, random_state=seed)
        for _, held in inner.split(rows):
            target = np.zeros(len(train), bool)
            target[rows[held]] = True
            encode(train & ~target, target)
    return out


def predictor_count(programs: pd.DataFrame, rules: ImgShareRules) -> pd.Series:
    """How many of the rulebook's predictor signals FREIDA holds for each program."""
    present = {
        "program_type": programs["program_type_stated"].notna(),
        "first_year_positions": programs["first_year_positions"].fillna(0).gt(0),
        "interviews_last_year": programs["interviews_last_year"].fillna(0).gt(0),
    }
    unknown = set(rules.predictor_signals) - set(present)
    if unknown:
        raise ValueError(f"rulebook img_share.predictor_signals: unknown {sorted(unknown)}")
    return sum(present[s].astype(int) for s in rules.predictor_signals) * programs["in_freida"].astype(int)


def _model(rules: ImgShareRules, seed: int, loss: str, quantile: float | None = None):
    from sklearn.ensemble import HistGradientBoostingRegressor

    m = rules.model
    return HistGradientBoostingRegressor(
        loss=loss,
        quantile=quantile,
        max_iter=m.max_iter,
        learning_rate=m.learning_rate,
        max_depth=m.max_depth,
        min_samples_leaf=m.min_samples_leaf,
        l2_regularization=m.l2_regularization,
        categorical_features="from_dtype",
        early_stopping=False,
        random_state=seed,
    )


def conformal_widening(scores: np.ndarray, coverage: float) -> float:
    """How far to widen the quantile interval so that a share ``coverage`` of new programs
    fall in it: the finite-sample conformal quantile of the conformity scores."""
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))


def _interval(low: np.ndarray, high: np.ndarray, point: np.ndarray, widen: float):
    lo = np.clip(low - widen, 0.0, 1.0)
    hi = np.maximum(np.clip(high + widen, 0.0, 1.0), lo)
    return np.clip(point, lo, hi), lo, hi


@dataclass
class IntervalModel:
    """A point model, two quantile models and the conformal widening of their interval."""

    point: object
    low: object
    high: object
    widen: float

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _interval(self.low.predict(X), self.high.predict(X), self.point.predict(X), self.widen)


def cross_validate(
    X: pd.DataFrame, y: np.ndarray, rules: ImgShareRules, seed: int, keys: pd.DataFrame | None = None
) -> pd.DataFrame:
    """K-fold out-of-fold predictions for the programs with a stated share: the point
    estimate, the two raw quantiles, the conformity score and the fold, plus a baseline (the
    training folds' median share of the program's type). With ``keys`` (``peer_keys`` of the
    same rows), each fold's peer signals are computed from the training folds' labels only."""
    from sklearn.model_selection import KFold

    alpha = 1.0 - rules.interval_coverage
    types = X["program_type"].astype(object).fillna("unknown")
    out = pd.DataFrame(index=X.index, columns=["y", "point", "q_low", "q_high", "baseline", "fold"], dtype=float)
    out["y"] = y
    for k, (tr, te) in enumerate(KFold(rules.cv_folds, shuffle=True, random_state=seed).split(X)):
        Xk = X
        if keys is not None:
            train = np.zeros(len(X), bool)
            train[tr] = True
            Xk = X.join(peer_features(keys, y, train, rules.peers.smoothing, rules.cv_folds, seed))
        Xtr, ytr, Xte = Xk.iloc[tr], y[tr], Xk.iloc[te]
        out.iloc[te, 1] = _model(rules, seed, "absolute_error").fit(Xtr, ytr).predict(Xte)
        out.iloc[te, 2] = _model(rules, seed, "quantile", alpha / 2).fit(Xtr, ytr).predict(Xte)
        out.iloc[te, 3] = _model(rules, seed, "quantile", 1 - alpha / 2).fit(Xtr, ytr).predict(Xte)
        medians = pd.Series(ytr).groupby(types.iloc[tr].to_numpy()).median()
        out.iloc[te, 4] = types.iloc[te].map(medians).fillna(float(np.median(ytr))).to_numpy(float)
        out.iloc[te, 5] = k
    out["score"] = np.maximum(out["q_low"] - out["y"], out["y"] - out["q_high"])
    return out


def evaluate(cv: pd.DataFrame, coverage: float) -> pd.DataFrame:
    """Each fold's interval, widened by the conformity scores of the other folds only (its own
    labels never calibrate its own interval): columns point, low, high beside ``cv``."""
    out = cv.copy()
    for k in cv["fold"].unique():
        mine = cv["fold"].eq(k)
        widen = conformal_widening(cv.loc[~mine, "score"].to_numpy(), coverage)
        pt, lo, hi = _interval(
            cv.loc[mine, "q_low"].to_numpy(), cv.loc[mine, "q_high"].to_numpy(), cv.loc[mine, "point"].to_numpy(), widen
        )
        out.loc[mine, "point"], out.loc[mine, "low"], out.loc[mine, "high"] = pt, lo, hi
    return out


def fit_interval_model(
    X: pd.DataFrame, y: np.ndarray, cv: pd.DataFrame, rules: ImgShareRules, seed: int
) -> IntervalModel:
    """The models on every program with a stated share, the widening from all CV scores."""
    alpha = 1.0 - rules.interval_coverage
    return IntervalModel(
        point=_model(rules, seed, "absolute_error").fit(X, y),
        low=_model(rules, seed, "quantile", alpha / 2).fit(X, y),
        high=_model(rules, seed, "quantile", 1 - alpha / 2).fit(X, y),
        widen=conformal_widening(cv["score"].to_numpy(), rules.interval_coverage),
    )


@dataclass
class ImgShareResult:
    """Per program: value, low, high, basis, evidence; plus the cross-validation metrics."""

    frame: pd.DataFrame
    metrics: dict[str, float | int | str]


def impute_img_share(
    programs: pd.DataFrame,
    rules: ImgShareRules,
    seed: int,
    as_of_year: int,
    new_max_age: int = 5,
) -> ImgShareResult:
    """The IMG share of every program: stated where FREIDA states it, imputed (with an
    interval) where FREIDA has enough other signals, unknown otherwise. ``new_max_age`` (the
    rulebook's ``new_program.max_age_years``) counts the new programs among the stated and
    the imputed ones: the measured error says little about them."""
    features_all = predictor_frame(programs, as_of_year)
    stated = programs["img_share"].astype("Float64")
    known = stated.notna().to_numpy()
    # A predictor the snapshot lacks altogether (e.g. acgme_first_academic_year before
    # 2025-05-26) cannot be learned from: leave it out, and say so in the evidence.
    unavailable = [c for c in features_all.columns if features_all.loc[known, c].isna().all()]
    X = features_all.drop(columns=unavailable)
    y = stated[known].astype(float).to_numpy()
    keys = peer_keys(programs, rules.peers)
    # The final model's peer signals: from every stated share, leave-one-out for its own rows.
    X_final = X.join(
        peer_features(keys, stated.astype(float).to_numpy(), known, rules.peers.smoothing, rules.cv_folds, seed)
    )
    enough = predictor_count(programs, rules).ge(rules.min_predictors).to_numpy()
    todo = ~known & enough
    cv, pt, lo, hi = _fit_and_predict(X[known], y, X_final, known, todo, keys, rules, seed)

    mae = float(np.mean(np.abs(cv["y"] - cv["point"])))
    system_peers = X_final.get("system_peers", pd.Series(0.0, index=programs.index)).fillna(0).astype(int)
    frame = pd.DataFrame(
        {
            "value": np.where(known, stated.astype(float).to_numpy(), pt),
            "low": lo,
            "high": hi,
            "basis": np.where(known, "stated", np.where(todo, "imputed", "unknown")),
            "evidence": _evidence(programs, stated, known, todo, lo, hi, list(X_final.columns), keys, system_peers, mae, rules),
        },
        index=programs.index,
    )
    # Imputed values to FREIDA's precision (0.1 percentage point); stated values untouched.
    frame.loc[todo, ["value", "low", "high"]] = frame.loc[todo, ["value", "low", "high"]].round(3)
    age = features_all["accreditation_age_years"]
    metrics = _metrics(programs, y, known, enough, todo, cv, lo, hi, age, new_max_age, unavailable, system_peers, rules, seed)
    log.info(
        "img_share: %d stated, %d imputed, %d unknown; CV MAE %.3f (type-median baseline %.3f), "
        "%.0f%% interval coverage %.3f",
        metrics["stated"], metrics["imputed"], metrics["unknown"], mae,
        metrics["cv_mae_baseline_type_median"], rules.interval_coverage * 100, metrics["interval_cv_coverage"],
    )
    return ImgShareResult(frame, metrics)


def _fit_and_predict(
    X_known: pd.DataFrame, y: np.ndarray, X_final: pd.DataFrame, known: np.ndarray, todo: np.ndarray,
    keys: pd.DataFrame, rules: ImgShareRules, seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Cross-validated predictions of the stated shares, and the final model's point and
    interval for the programs to impute (NaN elsewhere)."""
    from threadpoolctl import threadpool_limits

    n = len(X_final)
    pt, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    # One OpenMP thread: the models are small, and on a busy machine OpenMP's spinning threads
    # make the fits twenty times slower, not faster.
    with threadpool_limits(limits=1, user_api="openmp"):
        cv = evaluate(cross_validate(X_known, y, rules, seed, keys[known]), rules.interval_coverage)
        model = fit_interval_model(X_final[known], y, cv, rules, seed)
        if todo.any():
            pt[todo], lo[todo], hi[todo] = model.predict(X_final[todo])
    return cv, pt, lo, hi


def _evidence(
    programs: pd.DataFrame, stated: pd.Series, known: np.ndarray, todo: np.ndarray, lo: np.ndarray, hi: np.ndarray,
    predictors: list[str], keys: pd.DataFrame, system_peers: pd.Series, mae: float, rules: ImgShareRules,
) -> np.ndarray:
    """Each program's evidence for its share, in words."""
    system_text = np.where(
        system_peers > 0,
        "; health system '" + keys.get("system", pd.Series("", index=programs.index)).astype(str) + "': "
        + system_peers.astype(str) + " other programs state a share",
        "",
    )
    cov = rules.interval_coverage
    return np.where(
        known,
        "FREIDA % IMG: " + (stated * 100).round(1).astype(str) + "%",
        np.where(
            todo,
            [
                f"imputed by gradient boosting from {', '.join(predictors)}{sys_text}; "
                f"{cov:.0%} interval [{a:.3f}, {b:.3f}]; cross-validated MAE {mae:.3f}"
                for a, b, sys_text in zip(lo, hi, system_text, strict=True)
            ],
            np.where(
                programs["in_freida"].to_numpy(bool),
                f"FREIDA lists no IMG share and fewer than {rules.min_predictors} of "
                f"{', '.join(rules.predictor_signals)}: not imputed",
                "no FREIDA page: not imputed",
            ),
        ),
    )


def _metrics(
    programs: pd.DataFrame, y: np.ndarray, known: np.ndarray, enough: np.ndarray, todo: np.ndarray,
    cv: dict[str, np.ndarray], lo: np.ndarray, hi: np.ndarray, age: pd.Series, new_max_age: int,
    unavailable: list[str], system_peers: pd.Series, rules: ImgShareRules, seed: int,
) -> dict[str, float | int | str]:
    """How good the imputation is (cross-validated) and what it covered."""
    is_new = age.le(new_max_age)
    coverage = float(np.mean((cv["y"] >= cv["low"]) & (cv["y"] <= cv["high"])))
    return {
        "programs": len(programs),
        "stated": int(known.sum()),
        "missing": int((~known).sum()),
        "imputed": int(todo.sum()),
        "unknown": int((~known & ~enough).sum()),
        "cv_folds": rules.cv_folds,
        "cv_mae": round(float(np.mean(np.abs(cv["y"] - cv["point"]))), 4),
        "cv_mae_baseline_type_median": round(float(np.mean(np.abs(cv["y"] - cv["baseline"]))), 4),
        "cv_mae_baseline_overall_median": round(float(np.mean(np.abs(y - np.median(y)))), 4),
        "interval_nominal_coverage": rules.interval_coverage,
        "interval_cv_coverage": round(coverage, 4),
        "interval_cv_mean_width": round(float(np.mean(cv["high"] - cv["low"])), 4),
        "interval_mean_width_imputed": round(float(np.mean(hi[todo] - lo[todo])), 4) if todo.any() else float("nan"),
        "new_program_max_age_years": new_max_age,
        "stated_new_programs": int(is_new[known].sum()),
        "imputed_new_programs": int(is_new[todo].sum()),
        "imputed_age_unknown": int(age[todo].isna().sum()),
        "predictors_unavailable": ", ".join(unavailable) or "none",
        "peer_groups": ", ".join(rules.peers.groups) or "none",
        "imputed_with_system_peers": int((system_peers[todo] > 0).sum()),
        "seed": seed,
        "model": "HistGradientBoostingRegressor (absolute error) + conformalized quantile interval",
    }


def metrics_markdown(metrics: dict[str, float | int | str]) -> str:
    """The imputation metrics as a short Markdown paragraph and table (run summary, docs)."""
    m = metrics
    return "\n".join(
        [
            f"{m['stated']} programs state an IMG share; {m['missing']} do not: {m['imputed']} imputed, "
            f"{m['unknown']} left unknown (too few signals).",
            "",
            markdown_table(
                ["measure", "value"],
                [
                    (f"{m['cv_folds']}-fold CV MAE (share, 0-1)", f"{m['cv_mae']:.3f}"),
                    ("baseline MAE: median share of the program's type", f"{m['cv_mae_baseline_type_median']:.3f}"),
                    ("baseline MAE: overall median", f"{m['cv_mae_baseline_overall_median']:.3f}"),
                    ("interval nominal coverage", f"{float(m['interval_nominal_coverage']):.0%}"),
                    ("interval empirical coverage (CV; each fold calibrated on the others only)", f"{float(m['interval_cv_coverage']):.1%}"),
                    ("mean interval width (CV)", f"{m['interval_cv_mean_width']:.3f}"),
                    ("mean interval width (imputed programs)", f"{m['interval_mean_width_imputed']:.3f}"),
                    ("peer signals: other programs' stated shares (out of fold) by", f"{m['peer_groups']}"),
                    ("imputed programs with stated programs in their health system", f"{m['imputed_with_system_peers']}"),
                    (f"new programs (accredited within {m['new_program_max_age_years']} years) with a stated share", f"{m['stated_new_programs']}"),
                    ("new programs among the imputed", f"{m['imputed_new_programs']}"),
                ],
            ),
            "",
            _new_programs_caveat(m),
        ]
    )


def _new_programs_caveat(m: dict[str, float | int | str]) -> str:
    """What the measured error says about new programs, from the numbers of this run."""
    imputed, new, age_unknown = int(m["imputed"]), int(m["imputed_new_programs"]), int(m["imputed_age_unknown"])
    if imputed and age_unknown == imputed:
        return (
            "The snapshot gives no first ACGME year for the imputed programs, so how many of "
            "them are new (and outside what the cross-validation measured) is unknown."
        )
    if not new:
        return "No imputed program is new: the cross-validated error applies to all of them."
    return (
        f"{new} of the {imputed} imputed programs are new and {m['stated_new_programs']} programs "
        "that new state a share: the cross-validated error is measured on older programs, and "
        "the imputed values for new programs forecast a resident body that barely exists yet."
    )
