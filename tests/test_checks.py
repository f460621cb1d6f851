"""The declared checks computed per chunk (``imgpipeline.checks``), as the batch flow runs them
on its streamed lists: each rule fires on a row that breaks it, names the row by the table's
key, and passes a clean chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imgpipeline.checks import check_chunk, check_rows
from imgpipeline.tables import TABLES

T = TABLES["batch_recommendations"]


def _clean(n: int = 4) -> pd.DataFrame:
    return T.coerce(pd.DataFrame({
        "profile_id": [f"p{i // 2}" for i in range(n)],
        "rank": [1 + i % 2 for i in range(n)],
        "acgme_id": [f"14000000{i:02d}" for i in range(n)],
        "p_interview": np.linspace(0.01, 0.2, n),
        "p_interview_low": np.linspace(0.005, 0.15, n),
        "p_interview_high": np.linspace(0.02, 0.3, n),
        "band": ["reach", "target", "likely", "reach"][:n],
        "preferred_state": [True, False, True, False][:n],
        "published_version": ["v1"] * n,
    }))


def test_a_clean_chunk_passes_every_declared_check() -> None:
    evaluated, failures = check_chunk(_clean(), T, "batch")
    assert failures == [] and evaluated > 2 * len(T.columns)


def test_each_broken_rule_is_named_with_its_rows() -> None:
    df = _clean()
    df.loc[1, "p_interview"] = 1.5                 # out of [0, 1]
    df["band"] = T.coerce(df.assign(band=["reach", "target", "excluded", "reach"]))["band"]  # not an allowed band for a listed program
    df.loc[3, "acgme_id"] = "12345"                # not an ACGME number
    df.loc[0, "published_version"] = None          # provenance missing
    df.loc[3, "profile_id"] = "a@b.org"            # contact data
    _, failures = check_chunk(df, T, "batch", offset=100)
    by_rule = {(f.rule, f.column): f for f in failures}
    assert by_rule[("column_values_to_be_between", "p_interview")].rows == ["p0/1400000001"]
    assert by_rule[("column_values_to_be_in_set", "band")].rows == ["p1/1400000002"]
    assert by_rule[("column_values_to_match_regex", "acgme_id")].rows == ["a@b.org/12345"]
    assert by_rule[("column_values_to_not_be_null", "published_version")].unexpected_count == 1
    assert ("column_values_to_not_match_regex", "profile_id") in by_rule
    assert len(failures) == 5


def test_repeated_keys_missing_columns_and_row_counts() -> None:
    df = pd.concat([_clean(2), _clean(2)], ignore_index=True)
    _, failures = check_chunk(df.drop(columns=["band"]), T, "batch")
    rules = {f.rule for f in failures}
    assert {"compound_columns_to_be_unique", "column_to_exist"} <= rules
    dup = next(f for f in failures if f.rule == "compound_columns_to_be_unique")
    assert dup.unexpected_count == 4 and "p0/1400000000" in dup.rows
    assert check_rows(TABLES["batch_applicants"], 0, "batch")[0].rule == "table_row_count_to_be_between"
    assert check_rows(TABLES["batch_applicants"], 10, "batch") == []
