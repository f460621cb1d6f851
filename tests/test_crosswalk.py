"""NRMP-to-ACGME crosswalk on the real Florida results, against links read by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipeline.refresh.crosswalk import (
    CrosswalkRules,
    build_crosswalk,
    codes_listed_2016,
    load_rules,
    normalise,
    normalise_city,
    site_hint,
)
from imgpipeline.refresh.land import Snapshot, land_snapshot
from imgpipeline.refresh.programs import build_programs
from imgpipeline.refresh.stage.nrmp_results import parse_nrmp_results
from imgpipeline.settings import Settings, get_settings
from imgpipeline.tables import TABLES

# NRMP code -> ACGME id, read side by side (NRMP sponsor, label and city vs ACGME name, site,
# address). Tracks of one program share its id; codes that changed sponsor (1752 -> 2232 for
# Aventura, 1697 -> 2232 for Kendall) point to the same ACGME program.
BY_HAND = {
    "1102140C0": "1401131539", "1102140C1": "1401100962", "1102140C2": "1401100008",
    "1102140M0": "1401131539", "1752140C0": "1401100924", "2300140C0": "1401100011",
    "2300140C1": "1401100015", "2300140C2": "1401100014", "2300140C3": "1401100017",
    "2300140C4": "1401100016", "1892140C0": "1401100945", "1892140C1": "1401100001",
    "1383140C0": "1401121528", "1383140P0": "1401121528", "1383140P1": "1401121528",
    "1586140C0": "1401100923", "1586140P0": "1401100923", "2317140C0": "1401100005",
    "2317140P0": "1401100005", "1826140C0": "1401100894", "1826140C1": "1401100947",
    "1826140C2": "1401100002", "1826140P0": "1401100894", "2232140C0": "1401100955",
    "2232140C1": "1401100924", "2232140C2": "1401100926", "2232140C3": "1401100007",
    "1384140C0": "1401131535", "1384140P0": "1401131535", "1771140C0": "1401100937",
    "2137140C0": "1401100951", "1899140C0": "1401100944", "1899140P0": "1401100944",
    "1772140C0": "1401100940", "2195140C0": "1401100956", "2195140P0": "1401100956",
    "1981140C0": "1401100946", "2107140C0": "1401100943", "1662140C0": "1401100928",
    "1662140P0": "1401100928", "2392140C0": "1401100010", "2235140C0": "1401100959",
    "2235140P0": "1401100959", "1697140C0": "1401100926", "2323140C0": "1401100960",
    "1481140C0": "1401100952", "2238140C0": "1401100957", "2109140C0": "1401100948",
    "1032140C0": "1401121509", "2085140C0": "1401100950", "2085140P0": "1401100950",
    "1105140C0": "1401112101", "1105140P0": "1401112101", "1958140C0": "1401100942",
    "1107140C0": "1401131102", "1107140P0": "1401131102", "2121140C0": "1401100953",
    "1587140C0": "1401100909", "1587140C1": "1401100939", "1587140C2": "1401100938",
    "1587140C3": "1401100006", "1587140C4": "1401100009", "1587140C5": "1401100012",
    "1101140C0": "1401121099", "1101140P0": "1401121099", "1101140P1": "1401121099",
    "1101140P2": "1401121099", "1824140C0": "1401121098", "1824140C1": "1401100949",
    "1824140P0": "1401121098", "1109140C0": "1401121104", "1109140P0": "1401121104",
    "1109140P1": "1401121104", "1109140P2": "1401121104", "1109140P3": "1401121104",
    "1109140P4": "1401121104", "1104140C0": "1401121100", "1104140C1": "1401121100",
    "1104140C2": "1401121100", "1104140C3": "1401121100", "1104140C4": "1401121100",
    "1104140P0": "1401121100", "1104140P1": "1401121100", "1104140P3": "1401121100",
    "1821140C0": "1401100929", "1821140P0": "1401100929", "2218140C0": "1401100004",
}  # fmt: skip
# Programs first in the 2026 Match, after the 2024-2025 ACGME list: no ACGME id exists yet.
NOT_ON_THE_LIST = ("1826140C3", "1587140C6")  # FSU Pensacola, UCF Tallahassee


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Snapshot]:
    base = tmp_path_factory.mktemp("crosswalk")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "p")
    names = ("acgme_programs", "freida_programs", "freida_2016", "nrmp_program_results_fl")
    return {n: land_snapshot(n, settings) for n in names}


@pytest.fixture(scope="module")
def inputs(staged_acgme, staged_freida, staged_freida_2016, snaps):
    programs, unmatched = build_programs(
        staged_acgme, staged_freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    results = parse_nrmp_results(snaps["nrmp_program_results_fl"].local_path)
    # The staged (coerced) 2016 table, as the flow gives build_crosswalk.
    return programs, unmatched, results, staged_freida_2016


@pytest.fixture(scope="module")
def rules() -> CrosswalkRules:
    return load_rules(Settings())


@pytest.fixture(scope="module")
def built(inputs, rules, snaps):
    programs, _, results, freida_2016 = inputs
    return build_crosswalk(results, programs, rules, freida_2016, snaps)


@pytest.fixture(scope="module")
def crosswalk(built) -> pd.DataFrame:
    return built[0].set_index("program_code", drop=False)


# ---- normalisation ---------------------------------------------------------------------------


def test_normalise_expands_abbreviations() -> None:
    assert normalise("St. Joseph's Hosp") == "saint josephs hospital"
    assert normalise("Int Med/St Anthonys Hosp") == "saint anthonys hospital"
    assert normalise("U Florida COM-Shands Hosp") == "university florida college shands hospital"
    assert normalise_city("Ft Walton Bch") == normalise_city("Fort Walton Beach")
    assert normalise_city("St. Petersburg") == normalise_city("St Petersburg") == "saint petersburg"


@given(st.text(max_size=40))
def test_city_normalisation_is_idempotent(text: str) -> None:
    once = normalise_city(text)
    assert normalise_city(once) == once


def test_site_hint_is_the_part_after_the_slash() -> None:
    assert site_hint("Internal Med/Mease Countryside") == "mease countryside"
    assert site_hint("Int Med//Morton Plant North Bay") == "morton plant north bay"
    assert site_hint("Internal Medicine") == ""


# ---- the real Florida crosswalk --------------------------------------------------------------


def test_every_nrmp_im_code_has_a_row(crosswalk: pd.DataFrame, inputs) -> None:
    results = inputs[2]
    im_codes = set(results.loc[results["is_internal_medicine"], "program_code"])
    assert set(crosswalk.index) == im_codes and len(im_codes) == 92


def test_no_link_contradicts_the_hand_check(crosswalk: pd.DataFrame) -> None:
    linked = crosswalk[crosswalk["linked"]]
    checked = linked[linked.index.isin(BY_HAND)]
    wrong = checked[checked["acgme_id"] != checked.index.map(BY_HAND)]
    assert wrong.empty, wrong[["acgme_id", "explanation"]]
    assert len(checked) == 83 and len(linked) == 85


@pytest.mark.parametrize(
    ("code", "acgme_id", "method"),
    [
        ("1102140C1", "1401100962", "fuzzy"),  # AdventHealth Sebring (city decides)
        ("2300140C1", "1401100015", "fuzzy"),  # BayCare / Mease Countryside (label site)
        ("1892140C1", "1401100001", "fuzzy"),  # Broward "North Program" in Deerfield Beach
        ("1958140C0", "1401100942", "fuzzy"),  # NCH = Naples Comprehensive Health
        ("2107140C0", "1401100943", "fuzzy"),  # "St. Petersburg" vs "St Petersburg"
        ("1104140C2", "1401121100", "fuzzy"),  # Jackson "Harrington" track: a track, not a site
        ("1101140P1", "1401121099", "fuzzy"),  # prelim/neurology track of UF Jacksonville
        ("1587140C0", "1401100909", "freida_2016_code"),  # UCF "Orlando" = Osceola, per 2016 page
        ("1697140C0", "1401100926", "freida_2016_code"),  # old Kendall code
        ("1383140P1", "1401121528", "freida_2016_code"),  # Cleveland Clinic FL prelim
    ],
)
def test_known_links(crosswalk: pd.DataFrame, code: str, acgme_id: str, method: str, rules) -> None:
    row = crosswalk.loc[code]
    assert row["linked"] and row["acgme_id"] == acgme_id and row["method"] == method
    if method == "fuzzy":
        assert row["match_score"] >= rules.link_threshold and row["margin"] >= rules.min_margin


def test_tracks_of_one_program_share_its_id(crosswalk: pd.DataFrame) -> None:
    ids = crosswalk.loc[["1104140C0", "1104140C1", "1104140C2", "1104140P0", "1104140P3"], "acgme_id"]
    assert set(ids) == {"1401121100"}
    assert crosswalk.loc["1105140P0", "acgme_id"] == crosswalk.loc["1105140C0", "acgme_id"]


def test_programs_not_on_the_list_stay_unlinked(crosswalk: pd.DataFrame, built) -> None:
    _, unmatched = built
    for code in NOT_ON_THE_LIST:
        row = crosswalk.loc[code]
        assert not row["linked"] and pd.isna(row["acgme_id"]) and row["method"] == "none"
        assert row["explanation"].startswith("city differs")
        assert code in set(unmatched["record_id"])


def test_a_code_below_threshold_stays_unlinked(crosswalk: pd.DataFrame, built, rules) -> None:
    # HCA East Florida / Lawnwood: the right program (1401100007) is the best candidate, but
    # the sponsor name shares little with it and NRMP's "city" is the campus name.
    row = crosswalk.loc["2232140C3"]
    assert row["best_acgme_id"] == "1401100007"
    assert row["best_score"] < rules.link_threshold
    assert not row["linked"] and row["explanation"].startswith("below threshold")
    unmatched = built[1].set_index("record_id")
    assert "2232140C3" in unmatched.index
    assert unmatched.at["2232140C3", "source"] == "nrmp_program_results_fl"


def test_every_unlinked_code_is_listed(crosswalk: pd.DataFrame, built) -> None:
    unlinked = set(crosswalk.index[~crosswalk["linked"]])
    assert unlinked == set(built[1]["record_id"])
    assert len(unlinked) == 7


def test_links_agree_with_codes_the_2016_pages_listed(crosswalk: pd.DataFrame, inputs) -> None:
    listed = codes_listed_2016(inputs[3])
    fl = {c: i for c, i in listed.items() if c in crosswalk.index}
    assert len(fl) == 23
    for code, acgme_id in fl.items():
        assert crosswalk.at[code, "acgme_id"] == acgme_id
        assert crosswalk.at[code, "agrees_with_2016"]


def test_fuzzy_alone_never_contradicts_the_2016_pages(inputs, rules) -> None:
    programs, _, results, freida_2016 = inputs
    fuzzy_only, _ = build_crosswalk(results, programs, rules, None, None)
    listed = codes_listed_2016(freida_2016)
    linked = fuzzy_only[fuzzy_only["linked"] & fuzzy_only["program_code"].isin(listed)]
    assert len(linked) >= 20
    assert (linked["acgme_id"] == linked["program_code"].map(listed)).all()
    assert (fuzzy_only["method"] != "freida_2016_code").all()


# ---- each rule of the rulebook section, on a real example ------------------------------------


def test_the_section_loads_and_a_broken_rule_fails_loudly(rules) -> None:
    from pydantic import ValidationError

    from imgpipeline.rulebook import section

    raw = section("crosswalk", Settings())
    assert rules.link_threshold == raw["link_threshold"] == 70
    with pytest.raises(ValidationError, match="link_threshold"):
        CrosswalkRules.model_validate({**raw, "link_threshold": 150})
    with pytest.raises(ValidationError, match="min_margin"):
        CrosswalkRules.model_validate({k: v for k, v in raw.items() if k != "min_margin"})


def test_city_penalty_is_the_margin_between_two_sites_of_one_sponsor(crosswalk, rules) -> None:
    # AdventHealth Sebring: the Orlando program has the same name but another city.
    row = crosswalk.loc["1102140C1"]
    assert row["runner_up_acgme_id"] == "1401131539"
    assert row["margin"] == pytest.approx(rules.city_mismatch_penalty)


def test_candidates_are_records_best_first(crosswalk: pd.DataFrame, rules) -> None:
    # Each code's top candidates as records (no 'acgme_id:score' text to split): the first is
    # the best, the second the runner-up, scores never rising.
    for _, row in crosswalk.iterrows():
        cands = list(row["candidates"])
        assert len(cands) == rules.candidates_kept
        assert all(set(c) == {"acgme_id", "score", "city_agrees"} for c in cands)
        assert (cands[0]["acgme_id"], cands[0]["score"]) == (row["best_acgme_id"], row["best_score"])
        assert (cands[1]["acgme_id"], cands[1]["score"]) == (row["runner_up_acgme_id"], row["runner_up_score"])
        assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)
    # AdventHealth Sebring: the Orlando program, its runner-up, is in another city.
    sebring = list(crosswalk.loc["1102140C1", "candidates"])
    assert sebring[1] == {"acgme_id": "1401131539", "score": crosswalk.loc["1102140C1", "runner_up_score"], "city_agrees": False}


def test_threshold_is_honoured(inputs, rules) -> None:
    programs, _, results, freida_2016 = inputs
    strict = rules.model_copy(update={"link_threshold": 100.1})
    cw, un = build_crosswalk(results, programs, strict, freida_2016, None)
    assert set(cw.loc[cw["linked"], "method"]) == {"freida_2016_code"}
    assert len(un) == int((~cw["linked"]).sum())


def test_preliminary_penalty_keeps_prelim_codes_off_programs_without_prelims(
    inputs, rules, crosswalk
) -> None:
    programs, _, results, freida_2016 = inputs
    offers = programs.set_index("acgme_id")["offers_preliminary"]
    no_penalty = rules.model_copy(update={"preliminary_mismatch_penalty": 0.0})
    cw0 = build_crosswalk(results, programs, no_penalty, freida_2016, None)[0].set_index("program_code")
    # FIU's radiology prelim code: without the penalty it links to 1401100003, which the ACGME
    # list says offers no preliminary positions; with it, the two FIU programs are too close.
    assert cw0.at["2317140P1", "acgme_id"] == "1401100003" and not offers["1401100003"]
    assert not crosswalk.loc["2317140P1", "linked"]
    # BayCare's prelim code: St. Joseph's (the one BayCare program offering prelims) leads the
    # others, which offer none, by exactly the penalty more.
    assert crosswalk.loc["2300140P0", "acgme_id"] == "1401100011" and offers["1401100011"]
    gained = crosswalk.loc["2300140P0", "margin"] - cw0.at["2300140P0", "margin"]
    assert gained == pytest.approx(rules.preliminary_mismatch_penalty)


def test_site_hint_min_drops_track_names_and_keeps_sites(crosswalk: pd.DataFrame) -> None:
    assert crosswalk.loc["1383140P0", "site_hint"] == ""  # "Med-Prelim/Neurology"
    assert crosswalk.loc["2300140C1", "site_hint"] == "mease countryside"


def test_code_2016_floor(inputs, rules) -> None:
    programs, _, results, freida_2016 = inputs
    # UCF "Internal Med/Orlando" ties between UCF sites; only the 2016 page settles it.
    floor = rules.model_copy(update={"code_2016_min_score": 100.0})
    cw, _ = build_crosswalk(results, programs, floor, freida_2016, None)
    row = cw.set_index("program_code").loc["1587140C0"]
    assert not row["linked"] and "2016 FREIDA page of 1401100909" in row["explanation"]


# ---- published form -------------------------------------------------------------------------


def test_suites_pass_and_unmatched_rows_concatenate(built, inputs) -> None:
    from imgpipeline.refresh.validate import validate_frames

    crosswalk, unmatched = built
    all_unmatched = pd.concat([inputs[1], unmatched], ignore_index=True)
    reports = validate_frames(
        [
            (crosswalk, TABLES["nrmp_crosswalk"], "published"),
            (TABLES["unmatched_records"].coerce(all_unmatched), TABLES["unmatched_records"], "published"),
        ]
    )
    assert all(r.success for r in reports)
    assert crosswalk["nrmp_snapshot"].str.startswith("nrmp_program_results_fl@2026-04#").all()
    assert crosswalk["candidates"].map(len).eq(3).all()
