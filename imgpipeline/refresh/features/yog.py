"""Graduation-year (YOG) tolerance: a stated limit where the program states one, otherwise an
inferred level, otherwise unknown.

No source here lists residents' graduation years or (for most programs) a YOG cutoff, so the
inferred levels are exactly that, inferences from who a program's residents are, never a
program's policy:

- ``likely_tolerant``: a stated IMG share of at least ``tolerant_min_img_share`` in a
  community or community-based university-affiliated program that sponsors J-1 visas. Its
  residents are mostly IMGs on J-1 visas, a group that typically starts residency years after
  graduating, so the program ranks older graduates as a matter of course.
- ``likely_strict``: a stated IMG share of at most ``strict_max_img_share``, or a tier in
  ``strict_tiers`` (highly competitive academic): programs with almost no IMGs rarely take
  graduates several years out.
- Everything else: unknown (a middle IMG share says nothing either way).

Stated levels: ``stated_limit`` (a required window, ``yog_limit_years``), ``stated_preference``
(a preferred window), ``stated_no_limit`` (the program says it has no cutoff).
"""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.features.frame import feature
from imgpipeline.refresh.features.policies import Finding, first_finding
from imgpipeline.refresh.features.rules import YogRules

LEVELS = (
    "stated_limit",
    "stated_preference",
    "stated_no_limit",
    "likely_tolerant",
    "likely_strict",
)


def yog_limit_feature(programs: pd.DataFrame, findings: pd.Series) -> pd.DataFrame:
    """The stated YOG window in years (from the program's text), or unknown."""
    values, bases, evidence = [], [], []
    for items in findings:
        f = first_finding(items, "yog_limit")
        if f is not None and f.value["years"] is not None:
            values.append(f.value["years"])
            bases.append("stated")
            evidence.append(f'program text ({f.value["strictness"]}): "{f.quote}"')
        else:
            values.append(None)
            bases.append("unknown")
            evidence.append("the program states no graduation-year window")
    return feature(programs.index, values, bases, "freida", evidence)


def _inferred(
    ptype: str, share: object, share_basis: str, j1: object, tier: str, rules: YogRules
) -> tuple[str | None, str]:
    stated_share = share_basis == "stated" and share is not None and not pd.isna(share)
    s = float(share) if stated_share else None
    shown = f"stated IMG share {s:.3f}" if s is not None else f"IMG share {share_basis}"
    if tier in rules.strict_tiers:
        return "likely_strict", (
            f"inferred, not a program policy: tier {tier} ({shown}); programs with almost no IMGs "
            "rarely take graduates several years out"
        )
    if s is not None and s <= rules.strict_max_img_share:
        return "likely_strict", (
            f"inferred, not a program policy: {shown} <= {rules.strict_max_img_share}; programs "
            "with almost no IMGs rarely take graduates several years out"
        )
    j1_ok = (not rules.tolerant_requires_j1) or (j1 is not None and not pd.isna(j1) and bool(j1))
    if s is not None and s >= rules.tolerant_min_img_share and ptype in rules.tolerant_program_types and j1_ok:
        return "likely_tolerant", (
            f"inferred, not a program policy: {shown} >= {rules.tolerant_min_img_share}, "
            f"{ptype} program" + (", sponsors J-1" if rules.tolerant_requires_j1 else "")
            + "; residents who are mostly IMGs on J-1 visas typically graduated years before "
            "starting residency"
        )
    missing = []
    if s is None:
        missing.append(f"no stated IMG share ({shown})")
    elif s < rules.tolerant_min_img_share:
        missing.append(
            f"{shown} between {rules.strict_max_img_share} and {rules.tolerant_min_img_share}"
        )
    if ptype not in rules.tolerant_program_types:
        missing.append(f"program type {ptype}")
    if rules.tolerant_requires_j1 and not j1_ok:
        missing.append("no J-1 sponsorship listed")
    return None, "unknown: no stated window and no inference (" + "; ".join(missing) + ")"


def yog_tolerance_feature(
    programs: pd.DataFrame,
    findings: pd.Series,
    ptype: pd.Series,
    share: pd.DataFrame,
    j1: pd.Series,
    tier: pd.Series,
    rules: YogRules,
) -> pd.DataFrame:
    """The YOG tolerance level of every program, with its basis and reason."""
    values, bases, evidence = [], [], []
    for i in programs.index:
        f: Finding | None = first_finding(findings[i], "yog_limit")
        if f is not None:
            kind = f.value["strictness"]
            level = {"required": "stated_limit", "preferred": "stated_preference"}.get(kind, "stated_no_limit")
            values.append(level)
            bases.append("stated")
            evidence.append(f'program text: "{f.quote}"')
            continue
        level, reason = _inferred(ptype[i], share.at[i, "value"], share.at[i, "basis"], j1[i], tier[i], rules)
        values.append(level)
        bases.append("inferred" if level else "unknown")
        evidence.append(reason)
    return feature(programs.index, values, bases, "freida", evidence)
