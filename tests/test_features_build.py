"""The assembled feature tables on the real snapshots: their GX suites, the basis invariants,
the evidence behind every value, and provenance."""

from __future__ import annotations

import pandas as pd
import pytest

from imgpipeline.errors import ValidationFailed
from imgpipeline.refresh.features import FEATURES, basis_counts
from imgpipeline.tables import TABLES


def test_the_suites_pass_on_the_real_data(features) -> None:
    from imgpipeline.refresh.validate import build_expectations, validate_frames

    reports = validate_frames(
        [
            (features.program_features, TABLES["program_features"], "test"),
            (features.feature_evidence, TABLES["feature_evidence"], "test"),
        ]
    )
    assert [r.rows for r in reports] == [688, 688 * len(FEATURES)]
    # Every check the declarations imply ran (every column present: each one's value checks).
    assert [r.evaluated for r in reports] == [len(build_expectations(TABLES[r.table])) for r in reports]
    assert all(r.evaluated > 2 * len(TABLES[r.table].columns) for r in reports)


def test_the_suite_catches_an_invented_basis_and_an_impossible_share(features) -> None:
    from imgpipeline.refresh.validate import Gate, validate_frames

    bad = features.program_features.head(40).copy()
    bad["tier_basis"] = bad["tier_basis"].cat.add_categories(["guessed"])  # a closed set: a value it lacks
    bad.loc[0, "tier_basis"] = "guessed"
    bad.loc[1, "img_share"] = 1.7
    with pytest.raises(ValidationFailed) as err:
        # a fresh gate: re-validating a table name in the shared one is several times slower
        validate_frames([(bad, TABLES["program_features"], "planted")], gate=Gate())
    failed = {(f.column, f.rule) for f in err.value.failures}
    assert ("tier_basis", "column_values_to_be_in_set") in failed
    assert ("img_share", "column_values_to_be_between") in failed
    assert (None, "table_row_count_to_be_between") in failed  # 40 rows: a truncated build


def test_an_unknown_is_never_a_value(features) -> None:
    pf = features.program_features
    for f in FEATURES:
        unknown = pf[f"{f}_basis"] == "unknown"
        if f == "program_type":
            assert (pf.loc[unknown, f] == "unknown").all()
        else:
            assert pf.loc[unknown, f].isna().all(), f
            assert pf.loc[~unknown, f].notna().all(), f


def test_programs_without_a_freida_page_know_only_acgme_facts(features, programs_frame) -> None:
    pf = features.program_features.set_index("acgme_id")
    no_page = programs_frame.loc[~programs_frame["in_freida"], "acgme_id"]
    assert len(no_page) == 6
    rows = pf.loc[no_page]
    known = {f for f in FEATURES if (rows[f"{f}_basis"] != "unknown").any()}
    assert known == {"tier", "census_region", "new_program"}
    assert (rows["new_program_basis"] == "inferred").all()  # from ACGME initial accreditation


def test_one_evidence_row_per_program_and_feature_matching_the_wide_table(features) -> None:
    pf = features.program_features.set_index("acgme_id")
    ev = features.feature_evidence
    assert not ev.duplicated(["acgme_id", "feature"]).any()
    assert set(ev["feature"]) == set(FEATURES)
    for f in ("tier", "img_share", "sponsors_h1b", "yog_tolerance", "usce_months"):
        sub = ev[ev["feature"] == f].set_index("acgme_id")
        assert (sub["basis"].astype("str") == pf.loc[sub.index, f"{f}_basis"].astype("str")).all()
        wide = pf.loc[sub.index, f]
        as_text = wide.map(lambda v: None if pd.isna(v) else (str(v).lower() if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)))
        assert (sub["value"].fillna("<na>") == as_text.fillna("<na>")).all(), f


def test_stated_policies_quote_the_programs_own_words(features, programs_frame) -> None:
    ev = features.feature_evidence
    texts = programs_frame.set_index("acgme_id")["special_features_text"]
    policies = ["yog_limit_years", "usce_policy", "ecfmg_required", "holistic_review", "imgs_welcome"]
    stated = ev[ev["feature"].isin(policies) & (ev["basis"] == "stated")]
    assert len(stated) == 2 + 2 + 1 + 1 + 4
    for row in stated.itertuples():
        quote = row.evidence.split(': "', 1)[1].rstrip('"')
        assert quote in texts[row.acgme_id]
    assert (ev.loc[ev["feature"] == "failed_attempts_policy", "basis"] == "unknown").all()


def test_every_row_traces_to_its_snapshots(features, programs_frame) -> None:
    pf = features.program_features
    for col in ("acgme_snapshot", "acgme_sha256", "freida_snapshot", "freida_as_of"):
        assert (pf[col].to_numpy() == programs_frame[col].to_numpy()).all()
    ev = features.feature_evidence
    freida = programs_frame["freida_snapshot"].iloc[0]
    acgme = programs_frame["acgme_snapshot"].iloc[0]
    # One snapshot id and one as-of date per source, in the order of the source column.
    def items(feature: str, col: str) -> set[tuple[str, ...]]:
        return set(ev.loc[ev["feature"] == feature, col].map(tuple))

    assert items("img_share", "snapshot") == {(freida,)}
    assert items("census_region", "snapshot") == {(acgme,)}
    assert items("tier", "snapshot") == {(freida, acgme)}
    assert items("tier", "as_of") == {("2025-05-26", "2025-05-02")}
    assert set(ev.loc[ev["feature"] == "tier", "source"]) == {"freida_programs+acgme_programs"}


def test_the_summary_reports_the_error_and_the_bases(features) -> None:
    text = features.summary_markdown()
    m = features.img_share_metrics
    assert f"{m['cv_mae']:.3f}" in text and f"{m['interval_cv_coverage']:.1%}" in text
    counts = basis_counts(features.program_features)
    assert list(counts.columns) == ["stated", "imputed", "inferred", "unknown"]
    assert (counts.sum(axis=1) == 688).all()
    assert counts.loc["img_share", "imputed"] == m["imputed"]
    assert f"| img_share | {m['stated']} | {m['imputed']} | 0 | {m['unknown']} |" in text
