"""The build: every published table but ``changes`` from the staged sources, as plain steps.

``build_tables`` wires the steps; each is a plain function of the refresh wing, and the caller
says how each runs (``steps``): the refresh flow passes its Prefect tasks (one task run per
step, each shown in the UI), the growth bench the plain functions themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from imgpipeline.refresh import conflicts as conflict_steps
from imgpipeline.refresh import crosswalk as crosswalk_steps
from imgpipeline.refresh import match_probability as probability_steps
from imgpipeline.refresh import program_scores as interview_steps
from imgpipeline.refresh import programs as program_steps
from imgpipeline.refresh.features import FeatureTables
from imgpipeline.refresh.features import build as feature_steps
from imgpipeline.refresh.features.visa import visa_conflicts
from imgpipeline.refresh.land import Snapshot
from imgpipeline.refresh.stage import freida2016 as freida2016_stage
from imgpipeline.refresh.stage import nrmp_results as nrmp_stage
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.refresh.summary import Built
from imgpipeline.settings import Settings
from imgpipeline.tables import TABLES


def build_history(
    staged_2016: pd.DataFrame,
    staged_nrmp: pd.DataFrame,
    programs: pd.DataFrame,
    snaps: dict[str, Snapshot],
    settings: Settings,
) -> dict[str, pd.DataFrame]:
    """The dated outcome and history tables: 2016 minimums, NRMP Florida results, and the
    NRMP-to-ACGME crosswalk, with the records none of them could link."""
    minimums = freida2016_stage.build_minimums_2016(staged_2016, programs, snaps["freida_2016"])
    results = nrmp_stage.build_nrmp_program_results(staged_nrmp, snaps["nrmp_program_results_fl"])
    crosswalk, unmatched_codes = crosswalk_steps.build_crosswalk(
        results, programs, crosswalk_steps.load_rules(settings), staged_2016, snaps
    )
    return {
        "program_minimums_2016": minimums,
        "nrmp_program_results": results,
        "nrmp_crosswalk": crosswalk,
        "unmatched": pd.concat([freida2016_stage.unmatched_2016(minimums), unmatched_codes], ignore_index=True),
    }


def build_conflicts(programs: pd.DataFrame, minimums: pd.DataFrame) -> pd.DataFrame:
    """Where sources disagree: FREIDA vs ACGME, 2016 vs 2025 visas, visa list vs text."""
    return conflict_steps.build_conflicts(programs, minimums, visa_conflicts(programs))


def build_interview_model(
    features: FeatureTables, programs: pd.DataFrame, minimums: pd.DataFrame, curve: pd.DataFrame,
    outcomes: pd.DataFrame, settings: Settings,
) -> interview_steps.InterviewTables:
    return interview_steps.build_interview_tables(features.program_features, programs, minimums, curve, outcomes, settings)


@dataclass
class Steps:
    """How each step of the build runs (plain calls by default)."""

    build_programs: Callable[..., Any] = program_steps.build_programs
    build_features: Callable[..., Any] = feature_steps.build_features
    build_history: Callable[..., Any] = build_history
    build_conflicts: Callable[..., Any] = build_conflicts
    fit_match_probability: Callable[..., Any] = probability_steps.build_match_probability_curve
    build_interview_model: Callable[..., Any] = build_interview_model


def build_tables(staged: dict[str, Staged], snaps: dict[str, Snapshot], settings: Settings, steps: Steps | None = None) -> Built:
    """Every published table but ``changes``, from the staged sources."""
    s = steps or Steps()
    acgme, freida = staged["acgme_programs"].frame, staged["freida_programs"].frame
    staged_2016 = staged["freida_2016"].frame
    charting = staged["nrmp_charting_outcomes"].frames
    outcomes, totals = charting["charting_outcomes"], charting["charting_outcomes_totals"]
    programs, unmatched = s.build_programs(acgme, freida, snaps["acgme_programs"], snaps["freida_programs"])
    features = s.build_features(programs, settings)
    history = s.build_history(staged_2016, staged["nrmp_program_results_fl"].frame, programs, snaps, settings)
    minimums = history["program_minimums_2016"]
    curve = s.fit_match_probability(outcomes, totals, settings)
    model = s.build_interview_model(features, programs, minimums, curve, outcomes, settings)
    unmatched = TABLES["unmatched_records"].coerce(pd.concat([unmatched, history["unmatched"]], ignore_index=True))
    published = {
        "programs": programs,
        "unmatched_records": unmatched,
        "snapshots": program_steps.snapshots_frame(list(snaps.values())),
        "program_features": features.program_features,
        "feature_evidence": features.feature_evidence,
        "program_minimums_2016": minimums,
        "nrmp_program_results": history["nrmp_program_results"],
        "nrmp_crosswalk": history["nrmp_crosswalk"],
        "conflicts": s.build_conflicts(programs, minimums),
        "charting_outcomes": outcomes,
        "charting_outcomes_totals": totals,
        "match_probability_curve": curve,
        "program_openness": model.program_openness,
        "interview_coefficients": model.interview_coefficients,
        "program_scores": model.program_scores,
        "score_reasons": model.score_reasons,
        "score_validity": model.score_validity,
    }
    return Built(published, features, model)
