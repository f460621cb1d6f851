"""Visa sponsorship: FREIDA's list, the program's text where it says otherwise, the conflicts."""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.features.policies import extract_policies
from imgpipeline.refresh.features.visa import visa_conflicts, visa_features


def frame(rows: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    """A tiny programs frame: (acgme_id, visas_listed as 'J-1|H-1B', special_features_text)."""
    return pd.DataFrame(
        {
            "acgme_id": [r[0] for r in rows],
            "visas_listed": [None if r[1] is None else [v for v in r[1].split("|") if v] for r in rows],
            "special_features_text": [r[2] for r in rows],
            "in_freida": [r[1] is not None for r in rows],
        }
    )


PROGRAMS = frame(
    [
        ("1400000001", "J-1|H-1B", "We do not sponsor visas."),  # text contradicts list
        ("1400000002", "", "We sponsor J-1 visas."),  # text says more than an empty list
        ("1400000003", "J-1|F-1", "Graduates are welcome (H1-b visas are not offered)."),  # agrees
        ("1400000004", "J-1", None),  # list only
        ("1400000005", "", None),  # nothing listed
        ("1400000006", None, None),  # no FREIDA page
    ]
)


def test_values_and_bases_from_list_and_text() -> None:
    feats, conflict = visa_features(PROGRAMS, PROGRAMS["special_features_text"].map(extract_policies))
    j1, h1b, f1 = feats["sponsors_j1"], feats["sponsors_h1b"], feats["sponsors_f1"]
    assert list(j1["value"]) == [False, True, True, True, False, None]
    assert list(j1["basis"]) == ["stated", "stated", "stated", "stated", "inferred", "unknown"]
    assert list(h1b["value"]) == [False, False, False, False, False, None]
    assert list(h1b["basis"]) == ["stated", "inferred", "stated", "stated", "inferred", "unknown"]
    assert list(f1["value"]) == [False, False, True, False, False, None]
    assert list(conflict) == [True, True, False, False, False, False]
    assert j1["evidence"][0].startswith('program text: "We do not sponsor visas."')
    assert "overrides FREIDA accepted visas: J-1, H-1B" in j1["evidence"][0]
    assert "agrees with" in h1b["evidence"][2]


def test_conflicts_name_the_field_both_values_and_the_quote() -> None:
    got = visa_conflicts(PROGRAMS)
    assert got.to_dict("records") == [
        {"acgme_id": "1400000001", "field": "sponsors_j1", "list_value": "listed", "text_value": "not sponsored", "quote": "We do not sponsor visas.", "rule": "we_do_not_sponsor_visas"},
        {"acgme_id": "1400000001", "field": "sponsors_h1b", "list_value": "listed", "text_value": "not sponsored", "quote": "We do not sponsor visas.", "rule": "we_do_not_sponsor_visas"},
        {"acgme_id": "1400000002", "field": "sponsors_j1", "list_value": "no visa listed", "text_value": "sponsored", "quote": "We sponsor J-1 visas.", "rule": "we_sponsor_type"},
    ]


def test_real_programs_whose_text_speaks_about_visas(features) -> None:
    pf = features.program_features.set_index("acgme_id")
    # Henry Ford Warren: FREIDA lists no visa; its text says "We do not sponsor visas."
    assert pf.loc["1402500921", ["sponsors_j1", "sponsors_h1b", "sponsors_f1"]].tolist() == [False] * 3
    assert pf.loc["1402500921", "sponsors_j1_basis"] == "stated"
    # Carle: FREIDA lists J-1 and F-1; the text says "H1-b visas are not offered": agreement.
    assert pf.loc["1401621456", ["sponsors_j1", "sponsors_h1b", "sponsors_f1"]].tolist() == [True, False, True]
    ev = features.feature_evidence
    quote = ev[(ev.acgme_id == "1401621456") & (ev.feature == "sponsors_h1b")]["evidence"].item()
    assert "H1-b visas are not offered" in quote
    # William Beaumont Army: "Must be a US citizen to apply."
    assert not pf.loc["1404812008", "sponsors_j1"] and pf.loc["1404812008", "sponsors_j1_basis"] == "stated"
    # NYU Grossman lists J-1 only: H-1B and F-1 are stated as not sponsored.
    assert pf.loc["1403521292", ["sponsors_j1", "sponsors_h1b", "sponsors_f1"]].tolist() == [True, False, False]
    assert pf.loc["1403521292", "sponsors_h1b_basis"] == "stated"


def test_every_program_has_a_visa_basis_and_the_real_texts_agree_with_the_lists(features, programs_frame) -> None:
    pf = features.program_features
    for col in ("sponsors_j1", "sponsors_h1b", "sponsors_f1"):
        assert pf[f"{col}_basis"].notna().all()
        # Unknown only for the programs FREIDA has no page for.
        assert (pf[f"{col}_basis"] == "unknown").sum() == (~programs_frame["in_freida"]).sum()
    # In the 2025 snapshot every visa statement agrees with its FREIDA list.
    assert visa_conflicts(programs_frame).empty
    assert not pf["visa_text_conflict"].any()
