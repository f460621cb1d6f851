"""The article's program tiers, inferred from documented signals with the rulebook's thresholds.

The article names three tiers ("Understanding IM program tiers for IMGs with low scores"):
highly competitive academic centers, mid-tier academic or hybrid programs, and community and
community-based academic programs. No source states a program's tier, so every tier is
inferred, and ``tier_reason`` spells out which signals placed the program where:

1. Military programs: the rulebook's ``military_tier`` (service members fill the positions).
2. Academic types (university, other): highly competitive when the stated IMG share is at
   most ``max_img_share`` and the program is large (positions or interviews at least the
   rulebook's minimums); otherwise mid-tier.
3. Community-based university affiliated: mid-tier (hybrid) when its IMG share (stated or
   imputed) is at most ``hybrid_max_img_share``, or when it is a large centre (at least
   ``hybrid_large_min_first_year_positions``) whose share is at most
   ``hybrid_large_max_img_share``; otherwise community.
4. Community-based: community.
5. No stated type: a new program goes to ``new_program_tier``; otherwise the IMG share decides
   as in 3; with no share either, ``fallback_tier``.
"""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.features.frame import feature
from imgpipeline.refresh.features.rules import TierRules

TIERS = ("highly_competitive_academic", "mid_tier_academic_hybrid", "community")


def _share_text(share: object, basis: str) -> str:
    if basis == "unknown" or share is None or pd.isna(share):
        return "IMG share unknown"
    return f"IMG share {float(share):.3f} ({basis})"


def _int(v: object) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def tier_of(
    ptype: str,
    share: object,
    share_basis: str,
    positions: object,
    interviews: object,
    new: object,
    rules: TierRules,
) -> tuple[str, str]:
    """(tier, reason) for one program's signals."""
    shown = _share_text(share, share_basis)
    has_share = share_basis != "unknown" and share is not None and not pd.isna(share)
    is_new = new is not None and not pd.isna(new) and bool(new)
    if ptype == "military":
        return rules.military_tier, (
            "military-based program: positions go to service members, not civilian IMGs "
            f"(rulebook tier.military_tier); {shown}"
        )
    if ptype in rules.academic_types:
        return _academic_tier(ptype, share if has_share else None, share_basis, shown, _int(positions), _int(interviews), rules)
    if ptype == "community":
        return "community", f"community-based program; {shown}"
    if ptype == "community_university_affiliated" or has_share:
        return _affiliated_tier(ptype, float(share) if has_share else None, shown, _int(positions), is_new, rules)
    if is_new:
        return rules.new_program_tier, (
            f"program type {ptype}, IMG share unknown, new program (rulebook "
            "tier.new_program_tier: new IM programs are mostly community hospitals)"
        )
    return rules.fallback_tier, (
        f"fallback (rulebook tier.fallback_tier): program type {ptype}, IMG share unknown, "
        "program age unknown"
    )


def _academic_tier(
    ptype: str, share: object, share_basis: str, shown: str, pos: int | None, iv: int | None, rules: TierRules
) -> tuple[str, str]:
    """An academic program: highly competitive when it is large and states few IMGs."""
    hc = rules.highly_competitive_academic
    large = (pos is not None and pos >= hc.min_first_year_positions) or (
        iv is not None and iv >= hc.min_interviews_last_year
    )
    size = f"{pos if pos is not None else 'unknown'} first-year positions, {iv if iv is not None else 'unknown'} interviews"
    few_imgs = share_basis == "stated" and share is not None and float(share) <= hc.max_img_share
    if ptype in hc.program_types and few_imgs and large:
        return "highly_competitive_academic", (
            f"{ptype} program with few IMGs ({shown} <= {hc.max_img_share}) and large "
            f"({size}; >= {hc.min_first_year_positions} positions or >= "
            f"{hc.min_interviews_last_year} interviews)"
        )
    why = []
    if not few_imgs:
        why.append(f"{shown} (highly competitive needs a stated share <= {hc.max_img_share})")
    if not large:
        why.append(f"not large ({size})")
    return "mid_tier_academic_hybrid", f"{ptype} program, not highly competitive: " + "; ".join(why)


def _affiliated_tier(
    ptype: str, share: float | None, shown: str, pos: int | None, is_new: bool, rules: TierRules
) -> tuple[str, str]:
    """A community-based university-affiliated program, or one of another type with a known
    IMG share: hybrid when its share is low (or it is a large centre with a minority of IMGs)."""
    affiliated = ptype == "community_university_affiliated"
    label = "community-based university-affiliated program" if affiliated else f"program type {ptype}"
    if not affiliated and is_new:
        return rules.new_program_tier, (
            f"{label}, new program (rulebook tier.new_program_tier: new IM programs are "
            f"mostly community hospitals); {shown}"
        )
    if share is not None and share <= rules.hybrid_max_img_share:
        return "mid_tier_academic_hybrid", f"{label} with a low {shown} (<= {rules.hybrid_max_img_share}): hybrid"
    if (
        share is not None
        and pos is not None
        and pos >= rules.hybrid_large_min_first_year_positions
        and share <= rules.hybrid_large_max_img_share
    ):
        return "mid_tier_academic_hybrid", (
            f"{label}, a large centre ({pos} first-year positions >= "
            f"{rules.hybrid_large_min_first_year_positions}) with a minority of IMGs "
            f"({shown} <= {rules.hybrid_large_max_img_share}): hybrid"
        )
    if share is not None:
        return "community", f"{label} with {shown} (> {rules.hybrid_max_img_share})"
    return "community", f"{label}; IMG share unknown: community-based academic"


def tier_feature(
    programs: pd.DataFrame,
    ptype: pd.Series,
    share: pd.DataFrame,
    new: pd.Series,
    rules: TierRules,
) -> pd.DataFrame:
    """The tier of every program (basis inferred), with its reason as the evidence."""
    results = [
        tier_of(
            ptype[i],
            share.at[i, "value"],
            share.at[i, "basis"],
            programs.at[i, "first_year_positions"],
            programs.at[i, "interviews_last_year"],
            new[i],
            rules,
        )
        for i in programs.index
    ]
    return feature(
        programs.index,
        [t for t, _ in results],
        "inferred",
        "freida+acgme",
        [r for _, r in results],
    )
