"""The interview-chance model as DuckDB SQL, for the bench's comparison with the batch core.

Reads only what an app would: the published ``interview_coefficients`` (one row per constant)
and ``program_openness`` (one row per program), and the applicants' derived columns. Every
term of ``advice.model.compute_terms`` is a SQL expression summed in the same order; the hard
exclusions, the rulebook's left-out rules (R1, R2, R4) and the ranking (log-odds plus the
preferred-state bonus, ties to the lower program index) are a filter and a window function;
each applicant keeps the top ``n`` candidates, ``n`` being the size the batch chose (the size
curve is a Poisson-binomial recursion, not a SQL shape).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.advice.lists import ListRules
from imgpipeline.advice.model import Applicants
from imgpipeline.advice.published import Published
from imgpipeline.vocabulary import PROGRAM_TIERS, RISK_TIERS, YOG_LEVELS


def program_frame(data: Published, rules: ListRules) -> pd.DataFrame:
    """One row per program with the columns the SQL reads (j = the program's index)."""
    ps, t = data.programs, data.table
    c = data.coefficients
    per_level = {lv: c[f"yog_{lv}"] if lv != "stated_limit" else c["yog_unknown"] for lv in YOG_LEVELS}
    tiers = np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx]
    share = t["img_share"].to_numpy(dtype=float)
    stated = t["img_share_basis"].eq("stated").to_numpy()
    out = pd.DataFrame({
        "j": np.arange(ps.n, dtype=np.int64),
        "acgme_id": ps.acgme_id.astype(str),
        "openness": ps.openness, "openness_low": ps.openness_low, "openness_high": ps.openness_high,
        "program_bonus": ps.program_bonus, "selectivity": ps.selectivity,
        "yog_tolerance": ps.yog_tolerance.astype(str),
        "yog_level": [per_level.get(x, per_level["unknown"]) for x in ps.yog_tolerance],
        "yog_limit": ps.yog_limit, "usce_policy": ps.usce_policy.astype(str), "usce_months": ps.usce_months,
        "excludes_failures": ps.excludes_failures, "excludes_imgs": ps.excludes_imgs, "military": ps.military,
        "step1_min": ps.step1_min_2016, "step2_min": ps.step2_min_2016,
        "visa_j1": ps.visa_j1.astype(str), "visa_h1b": ps.visa_h1b.astype(str), "visa_either": ps.visa_either.astype(str),
        "state": t["state"].astype(str).to_numpy(),
        "not_accepting": t["accepting_applications"].astype("boolean").eq(False).fillna(False).to_numpy() & rules.skip_not_accepting,
    })
    for i, tier in enumerate(RISK_TIERS):
        limit = rules.avoid[tier].stated_img_share_at_most
        few = np.zeros(ps.n, dtype=bool) if limit is None else stated & (np.nan_to_num(share, nan=2.0) <= limit)
        out[f"avoid_{i}"] = np.isin(tiers, list(rules.avoid[tier].program_tiers)) | few
    for col in ("openness", "openness_low", "openness_high", "yog_limit", "usce_months", "step1_min", "step2_min"):
        out[col] = out[col].astype("Float64")  # nan -> NULL in DuckDB
    return out


def applicant_frame(apps: Applicants, tier: np.ndarray, preferred: list[tuple[str, ...]], n_listed: np.ndarray) -> pd.DataFrame:
    """One row per applicant (g = its index) with the model's inputs, its tier, preferred
    states (';'-joined) and the list size the batch chose."""
    df = pd.DataFrame({
        "g": np.arange(apps.n, dtype=np.int64),
        "step2ck": apps.step2ck, "step1": apps.step1, "step1_failures": apps.step1_failures, "failures": apps.failures,
        "years": apps.years, "hands_on": apps.hands_on, "observership": apps.observership, "letters": apps.letters,
        "recent_clinical": apps.recent_clinical, "gaps": apps.gaps, "visa_need": apps.visa_need.astype(str),
        "step3_passed": apps.step3_passed, "service_member": apps.service_member, "tier": tier.astype(np.int64),
        "preferred": [";".join(p) for p in preferred], "n_listed": n_listed.astype(np.int64),
    })
    for col in ("step2ck", "step1", "years", "hands_on", "observership", "letters", "recent_clinical", "gaps"):
        df[col] = df[col].astype("Float64")
    return df


def _c(data: Published) -> dict[str, float]:
    return dict(data.coefficients.values)


def overlap_sql(c: dict[str, str]) -> str:
    """``model._overlap``: minus ``screen_overlap`` times (the sum of the negative screen terms
    less the most negative), the screens in ``model.SCREENS`` order."""
    yog = f"CASE WHEN coalesce(ap.years, 0) > {c['yog_after_years']} THEN p.yog_level ELSE 0 END"
    neg = [f"least({t}, 0)" for t in ("ap.failures_term", yog, "ap.usce_term", "ap.letters_term", "ap.recent_term", "ap.gaps_term")]
    total = neg[0]
    for t in neg[1:]:
        total = f"({total} + {t})"
    return f"{-float(c['screen_overlap'])!r} * ({total} - least({', '.join(neg)}))"


def pairs_sql(data: Published, rules: ListRules) -> str:
    """SELECT g, j, acgme_id, n_listed, logit, excluded, left_out, preferred over every
    applicant (table ``a``) x program (table ``prog``)."""
    c = {k: repr(float(v)) for k, v in _c(data).items()}
    vstate = "(CASE ap.visa_need WHEN 'j1' THEN p.visa_j1 WHEN 'h1b' THEN p.visa_h1b WHEN 'either' THEN p.visa_either ELSE 'yes' END)"
    return f"""
    SELECT ap.g, p.j, p.acgme_id, ap.n_listed,
      -- the terms, summed in compute_terms' order, the overlap of the screens last
      ((((((((((((({c['calibration_offset']} + p.openness) + p.program_bonus)
        + {c['step2ck_per_point']} * coalesce(ap.step2ck - {c['step2ck_reference']}, 0) * (1 + {c['step2ck_selectivity_interaction']} * p.selectivity))
        + ({c['below_2016_step2_minimum']} * coalesce(ap.step2ck < p.step2_min, false)::DOUBLE + {c['below_2016_step1_minimum']} * coalesce(ap.step1 < p.step1_min, false)::DOUBLE))
        + ap.failures_term)
        + CASE WHEN coalesce(ap.years, 0) > {c['yog_after_years']} THEN p.yog_level ELSE 0 END)
        + ap.usce_term)
        + CASE WHEN ap.hands_on IS NOT NULL AND ap.hands_on < coalesce(p.usce_months, 1)
               THEN CASE p.usce_policy WHEN 'required' THEN {c['usce_required_short']} WHEN 'preferred' THEN {c['usce_preferred_short']} ELSE 0 END
               ELSE 0 END)
        + ap.letters_term) + ap.recent_term) + ap.gaps_term)
        + CASE WHEN ap.visa_need = 'none' THEN 0
               ELSE (CASE WHEN {vstate} = 'unknown' THEN {c['visa_unknown']} ELSE 0 END)
                  + (CASE WHEN ap.visa_need = 'h1b' AND NOT ap.step3_passed AND {vstate} = 'yes' THEN {c['h1b_without_step3']} ELSE 0 END) END
      )
        + {overlap_sql(c)}) AS logit,
      (ap.visa_need <> 'none' AND {vstate} IN ('no', 'no_inferred'))
        OR (ap.failures > 0 AND p.excludes_failures)
        OR (p.yog_tolerance = 'stated_limit' AND coalesce(ap.years > p.yog_limit, false))
        OR p.excludes_imgs
        OR (NOT ap.service_member AND p.military) AS excluded,
      p.not_accepting OR CASE ap.tier WHEN 0 THEN p.avoid_0 WHEN 1 THEN p.avoid_1 WHEN 2 THEN p.avoid_2 ELSE p.avoid_3 END AS left_out,
      coalesce(list_contains(ap.pref_list, p.state), false) AS preferred
    FROM (
      SELECT *,
        -- the applicant-only terms (model._failures, _usce, _stated)
        (CASE WHEN failures >= 1 THEN {c['first_failure']} ELSE 0 END + {c['further_failure']} * greatest(failures - 1, 0))
          * (1 - CASE WHEN coalesce(step2ck, -1) >= {c['step1_failure_offset_ck']} AND failures > 0
                      THEN least(step1_failures, failures) / greatest(failures, 1) * (1 - {c['step1_failure_offset_fraction']}) ELSE 0 END) AS failures_term,
        CASE WHEN hands_on IS NULL THEN 0
             WHEN hands_on + coalesce(observership, 0) <= 0 THEN {c['no_usce']}
             WHEN hands_on <= 0 THEN {c['observership_only']}
             WHEN hands_on >= {c['usce_hands_on_months_strong']} THEN {c['usce_strong']} ELSE 0 END AS usce_term,
        CASE WHEN letters < {c['letters_min']} THEN {c['few_letters']} ELSE 0 END AS letters_term,
        CASE WHEN recent_clinical = 0 THEN {c['no_recent_clinical_work']} ELSE 0 END AS recent_term,
        CASE WHEN gaps = 1 THEN {c['unexplained_gaps']} ELSE 0 END AS gaps_term,
        CASE WHEN preferred = '' THEN []::VARCHAR[] ELSE string_split(preferred, ';') END AS pref_list
      FROM a
    ) ap
    CROSS JOIN prog p
    """


P_SQL = "CASE WHEN excluded THEN 0.0 ELSE 0.5 * (1 + tanh(0.5 * logit)) END"


def lists_sql(data: Published, rules: ListRules) -> str:
    """Each applicant's top ``n_listed`` candidates by log-odds + the preferred-state bonus."""
    return f"""
    WITH pairs AS ({pairs_sql(data, rules)}),
    scored AS (
      SELECT g, j, acgme_id, n_listed, {P_SQL} AS p, excluded, left_out,
             logit + {float(rules.preferred_state_log_odds)!r} * preferred::DOUBLE AS key
      FROM pairs
    ),
    ranked AS (
      SELECT g, j, acgme_id, p, n_listed, row_number() OVER (PARTITION BY g ORDER BY key DESC, j ASC) AS rank
      FROM scored WHERE NOT excluded AND NOT left_out AND p >= {float(rules.long_shot_below)!r}
    )
    SELECT g, rank, acgme_id, p FROM ranked WHERE rank <= n_listed ORDER BY g, rank
    """


def _connect(data: Published, rules: ListRules, apps: pd.DataFrame, threads: int | None = None) -> Any:
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.register("a_src", apps)
    con.register("prog_src", program_frame(data, rules))
    con.execute("CREATE TABLE a AS SELECT * FROM a_src")
    con.execute("CREATE TABLE prog AS SELECT * FROM prog_src")
    return con


def run(data: Published, rules: ListRules, apps: pd.DataFrame, threads: int) -> tuple[pd.DataFrame, float]:
    """The lists by DuckDB (``threads`` threads) and the seconds the query took."""
    con = _connect(data, rules, apps, threads)
    t0 = time.perf_counter()
    out = con.execute(lists_sql(data, rules)).df()
    seconds = time.perf_counter() - t0
    con.close()
    return out, seconds


def pair_p(data: Published, rules: ListRules, apps: pd.DataFrame) -> pd.DataFrame:
    """P(interview) for every pair of ``apps`` x programs (for checking against the core)."""
    con = _connect(data, rules, apps)
    out = con.execute(f"SELECT g, j, {P_SQL} AS p FROM ({pairs_sql(data, rules)}) ORDER BY g, j").df()
    con.close()
    return out
