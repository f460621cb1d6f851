"""Assemble ``program_features`` (wide: one row per program, a value and a basis per feature)
and ``feature_evidence`` (long: one row per program and feature, with the evidence) from the
published ``programs`` frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from imgpipeline.refresh.features.frame import feature
from imgpipeline.refresh.features.img_share import impute_img_share, metrics_markdown
from imgpipeline.refresh.features.policies import extract_policies, policy_features
from imgpipeline.refresh.features.rules import FeatureRules, feature_rules
from imgpipeline.refresh.features.signals import (
    accepting,
    as_of_year,
    census_region,
    history,
    program_type,
    selectivity,
)
from imgpipeline.refresh.features.tier import tier_feature
from imgpipeline.refresh.features.visa import visa_features
from imgpipeline.refresh.features.yog import yog_limit_feature, yog_tolerance_feature
from imgpipeline.settings import Settings
from imgpipeline.tables import TABLES
from imgpipeline.text import markdown_table, value_text
from imgpipeline.vocabulary import BASES

log = logging.getLogger(__name__)

# Every feature of program_features, in column order; each has `<feature>_basis` beside it.
FEATURES = (
    "program_type",
    "tier",
    "census_region",
    "img_share",
    "sponsors_j1",
    "sponsors_h1b",
    "sponsors_f1",
    "first_year_positions",
    "interviews_last_year",
    "interviews_per_position",
    "acgme_first_year",
    "accreditation_age_years",
    "new_program",
    "accepting_2025_2026",
    "accepting_2026_2027",
    "yog_limit_years",
    "yog_tolerance",
    "usce_policy",
    "usce_months",
    "ecfmg_required",
    "failed_attempts_policy",
    "holistic_review",
    "imgs_welcome",
)
SOURCE_TABLES = {"freida": "freida_programs", "acgme": "acgme_programs"}


@dataclass
class FeatureTables:
    """What the feature step publishes, and the imputation's measured error."""

    program_features: pd.DataFrame
    feature_evidence: pd.DataFrame
    img_share_metrics: dict[str, Any] = field(default_factory=dict)

    def summary_markdown(self) -> str:
        """The run-summary section: imputation error, bases per feature, tiers."""
        return (
            metrics_markdown(self.img_share_metrics)
            + "\n\n"
            + basis_counts(self.program_features).to_markdown_table()
            + "\n\nTiers: "
            + ", ".join(f"{k} {v}" for k, v in self.program_features["tier"].value_counts().items())
        )


class _BasisTable(pd.DataFrame):
    def to_markdown_table(self) -> str:
        rows = [(i, *row) for i, row in zip(self.index, self.to_numpy(), strict=True)]
        return markdown_table(["feature", *self.columns], rows)


def basis_counts(program_features: pd.DataFrame) -> _BasisTable:
    """How many programs hold each basis, per feature (rows: features; columns: bases)."""
    counts = {
        f: program_features[f"{f}_basis"].value_counts().reindex(list(BASES), fill_value=0)
        for f in FEATURES
    }
    return _BasisTable(pd.DataFrame(counts).T.astype(int))


def compute_features(
    programs: pd.DataFrame, rules: FeatureRules, seed: int
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series], dict[str, Any]]:
    """Every feature frame (value, basis, source, evidence), the extra columns, the metrics."""
    programs = programs.reset_index(drop=True)
    year = as_of_year(programs)
    findings = programs["special_features_text"].map(extract_policies)

    feats: dict[str, pd.DataFrame] = {}
    extras: dict[str, pd.Series] = {}
    feats["program_type"] = program_type(programs)
    feats["census_region"] = census_region(programs)
    feats.update(selectivity(programs))
    hist, lower_bound = history(programs, rules)
    feats.update(hist)
    extras["accreditation_age_is_lower_bound"] = lower_bound
    feats.update(accepting(programs))

    share = impute_img_share(programs, rules.img_share, seed, year, rules.new_program.max_age_years)
    feats["img_share"] = feature(
        programs.index, share.frame["value"], share.frame["basis"], "freida", share.frame["evidence"]
    )
    extras["img_share_low"] = share.frame["low"]
    extras["img_share_high"] = share.frame["high"]

    visas, conflict = visa_features(programs, findings)
    feats.update(visas)
    extras["visa_text_conflict"] = conflict

    feats["tier"] = tier_feature(
        programs, feats["program_type"]["value"], feats["img_share"], feats["new_program"]["value"], rules.tier
    )
    extras["tier_reason"] = feats["tier"]["evidence"]

    feats["yog_limit_years"] = yog_limit_feature(programs, findings)
    feats["yog_tolerance"] = yog_tolerance_feature(
        programs,
        findings,
        feats["program_type"]["value"],
        feats["img_share"],
        feats["sponsors_j1"]["value"],
        feats["tier"]["value"],
        rules.yog,
    )
    extras["yog_tolerance_reason"] = feats["yog_tolerance"]["evidence"]
    feats.update(policy_features(programs, findings))
    missing = set(FEATURES) - set(feats)
    if missing:
        raise RuntimeError(f"features not computed: {sorted(missing)}")
    return feats, extras, share.metrics



def build_features(programs: pd.DataFrame, settings: Settings | None = None) -> FeatureTables:
    """``program_features`` and ``feature_evidence`` from the published ``programs`` frame,
    coerced to their declarations; the imputation metrics beside them."""
    settings = settings or Settings()
    rules = feature_rules(settings)
    programs = programs.reset_index(drop=True)
    feats, extras, metrics = compute_features(programs, rules, settings.random_seed)

    wide = programs[["acgme_id", "program_name", "state"]].copy()
    for name in FEATURES:
        wide[name] = feats[name]["value"]
        wide[f"{name}_basis"] = feats[name]["basis"]
    for name, series in extras.items():
        wide[name] = series
    for prefix in ("acgme", "freida"):
        for suffix in ("snapshot", "as_of", "sha256"):
            wide[f"{prefix}_{suffix}"] = programs[f"{prefix}_{suffix}"]
    table = TABLES["program_features"]
    program_features = table.coerce(wide[table.column_names])

    long = []
    for name in FEATURES:
        f = feats[name]
        # One snapshot id and one as-of date per source of the evidence, in the source's order.
        snapshot = pd.Series([[] for _ in programs.index], index=programs.index, dtype=object)
        as_of = pd.Series([[] for _ in programs.index], index=programs.index, dtype=object)
        for combo in f["source"].unique():
            rows = f["source"].eq(combo)
            parts = combo.split("+")
            ids = programs.loc[rows, [f"{p}_snapshot" for p in parts]]
            dates = programs.loc[rows, [f"{p}_as_of" for p in parts]].apply(lambda d: d.dt.strftime("%Y-%m-%d"))
            snapshot[rows] = pd.Series(ids.to_numpy().tolist(), index=ids.index, dtype=object)
            as_of[rows] = pd.Series(dates.to_numpy().tolist(), index=dates.index, dtype=object)
        long.append(
            pd.DataFrame(
                {
                    "acgme_id": programs["acgme_id"],
                    "feature": name,
                    "value": f["value"].map(value_text),
                    "basis": f["basis"],
                    "source": f["source"].map(lambda s: "+".join(SOURCE_TABLES[p] for p in s.split("+"))),
                    "snapshot": snapshot,
                    "as_of": as_of,
                    "evidence": f["evidence"],
                }
            )
        )
    evidence_table = TABLES["feature_evidence"]
    feature_evidence = evidence_table.coerce(pd.concat(long, ignore_index=True))
    log.info(
        "features: %d programs, %d evidence rows; tiers %s",
        len(program_features),
        len(feature_evidence),
        program_features["tier"].value_counts().to_dict(),
    )
    return FeatureTables(program_features, feature_evidence, metrics)
