"""Stated policies from program text: the real sentences of the 2025 FREIDA snapshot must be
read, their look-alikes must not, and every quote is the program's exact words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipeline.refresh.features.policies import extract_policies, first_finding, sentences


def found(text: str, policy: str):
    f = first_finding(extract_policies(text), policy)
    return None if f is None else f.value


# Real sentences from special_features_text (2025-05-26 snapshot), with the program they are
# from, and what they state.
REAL = [
    ("1402800915", "International Requirements: Graduation within 3 years of application.", "yog_limit", {"years": 3, "strictness": "required"}),
    ("1404100906", "Recent medical school graduates (within the past 5 years) are preferred as well.", "yog_limit", {"years": 5, "strictness": "preferred"}),
    ("1404100906", "6 months of U.S. clinical experience is preferred.", "usce", {"kind": "preferred", "months": 6}),
    ("1402800915", "Audition rotations highly recommended.", "usce", {"kind": "preferred", "months": None}),
    ("1404100906", "IMG's MUST be certified by ECFMG to be considered.", "ecfmg_required", True),
    ("1402500921", "We do not sponsor visas.", "visa", {"J-1": False, "H-1B": False, "F-1": False}),
    ("1401621456", "Graduates from US and international medical schools are welcome to apply (H1-b visas are not offered).", "visa", {"H-1B": False}),
    ("1401621456", "Graduates from US and international medical schools are welcome to apply (H1-b visas are not offered).", "imgs_welcome", True),
    ("1404812008", "Must be a US citizen to apply.", "visa", {"J-1": False, "H-1B": False, "F-1": False}),
    ("1400500922", "We welcome MD & DO applications from US and International Medical Schools.", "imgs_welcome", True),
    ("1404121380", "We are delighted to welcome trainees from dozens of medical schools spanning the nation and globe to our program.", "imgs_welcome", True),
    ("1404100901", "Must have prior osteopathic education to meet residency requirements.", "imgs_welcome", False),
    ("1400400924", "The UAMS College of Medicine Northwest Internal Medicine Residency Program's mission is to recruit applicants using a holistic review with attention to the experiences, attributes and metrics of all applicants.", "holistic_review", True),
]

# Statements the article and common program pages use that the 2025 snapshot happens not to
# contain (the article: "We do not consider applicants who have failed any USMLE exam").
WRITTEN = [
    ("We do not consider applicants who have failed any USMLE exam.", "failed_attempts", "not_considered"),
    ("Applicants must have passed all USMLE Steps on the first attempt.", "failed_attempts", "first_attempt_required"),
    ("We will consider applicants with a prior failed attempt if Step 2 CK shows improvement.", "failed_attempts", "considered"),
    ("ECFMG certification is required by the rank list deadline.", "ecfmg_required", True),
    ("Applicants must be within 5 years of graduation.", "yog_limit", {"years": 5, "strictness": "required"}),
    ("There is no YOG cutoff for our program.", "yog_limit", {"years": None, "strictness": "no_limit"}),
    ("We sponsor J-1 and H-1B visas.", "visa", {"J-1": True, "H-1B": True}),
    ("We only sponsor J-1 visas.", "visa", {"J-1": True, "H-1B": False, "F-1": False}),
    ("At least 3 months of US clinical experience is required.", "usce", {"kind": "required", "months": 3}),
    ("We review every application holistically.", "holistic_review", True),
    ("International medical graduates are encouraged to apply.", "imgs_welcome", True),
    ("We do not accept IMGs.", "imgs_welcome", False),
]

# Look-alikes, most of them real sentences of the snapshot, that state no such policy.
NOT_A_POLICY = [
    ("3) Personal - supported individual growth; 1) Clinical - growth through graduated autonomy.", "yog_limit"),
    ("Our graduates have gone on to diverse, highly acclaimed fellowship programs as well as great success in finding practice opportunities.", "yog_limit"),
    ("The graduates of our program are well prepared to follow a career in primary care and hospital medicine.", "yog_limit"),
    ("Our 2022, 2023, and 2024 graduates who applied for fellowship had a 100% placement rate.", "yog_limit"),
    ("Three years of training at Bridgeport Hospital will, through a broad array of didactic and patient-care experiences, prepare you well for a career in Internal Medicine.", "yog_limit"),
    ("Riverside is a Watson Health 100 Top Hospital, Distinguished Hospital for Clinical Excellence for the past five years from HealthGrades.", "yog_limit"),
    ("Our graduates have passed the boards within the past 5 years at a 100% rate.", "yog_limit"),
    ("Our sponsorship by Mount Sinai offers exciting academic opportunities to motivated residents.", "visa"),
    ("We sponsor leadership retreats to build skills for success in and outside of the hospital.", "visa"),
    ("DRMC is a 385 bed hospital in Palms Springs, CA, and sponsors programs in Internal Medicine, Family Medicine, Emergency Medicine, General Surgery, and Surgical Critical Care.", "visa"),
    ("As a condition of employment, Health Professions Trainees who anticipate receiving direct VA-pay must be citizens of the United States.", "visa"),
    ("We are an ACGME accredited program with an outstanding clinical experience in Southwest Michigan.", "usce"),
    ("We provide exceptional clinical education to produce highly-qualified future primary care, hospitalist, and subspecialist physicians who receive a high degree of hands-on clinical experience during training.", "usce"),
    ("We prepare residents with medical knowledge and clinical skills, research experience, outside auditions, subspecialty support, leadership training and interviewing skills.", "usce"),
    ("ECFMG Application Fee", "ecfmg_required"),
    ("Our patient acuity is significant with transplant and heart failure programs.", "failed_attempts"),
    ("They are a Five Star recipient for treatment of heart failure, respiratory failure and is named among the top 5% in the nation for patient safety.", "failed_attempts"),
    ("100% of our residents passed the ABIM on the first attempt.", "failed_attempts"),
    ("Create a holistic curriculum that not only prepares physicians to be efficient managers and providers of high-value medicine.", "holistic_review"),
    ("Our program provides a community-based educational curriculum that produces physicians who are holistically trained.", "holistic_review"),
    ("We welcome all DO and MD candidates that have passed their Step 1 and 2.", "imgs_welcome"),
    ("We welcome high-caliber residents from both allopathic and osteopathic schools of medicine.", "imgs_welcome"),
    ("The internal medicine program at St Joseph Hospital has a long history of training strong internists whose careers have flourished around the globe.", "imgs_welcome"),
    ("The PGY2 and PGY3 residents interested in health problems in developing nations may participate in our international health track or electives.", "imgs_welcome"),
]


@pytest.mark.parametrize(("acgme_id", "sentence", "policy", "value"), REAL, ids=[f"{r[0]}-{r[2]}" for r in REAL])
def test_real_sentences_are_read(acgme_id: str, sentence: str, policy: str, value: object) -> None:
    assert found(sentence, policy) == value


@pytest.mark.parametrize(("sentence", "policy", "value"), WRITTEN, ids=[w[0][:40] for w in WRITTEN])
def test_article_and_common_statements_are_read(sentence: str, policy: str, value: object) -> None:
    assert found(sentence, policy) == value


@pytest.mark.parametrize(("sentence", "policy"), NOT_A_POLICY, ids=[n[0][:40] for n in NOT_A_POLICY])
def test_look_alikes_state_no_policy(sentence: str, policy: str) -> None:
    assert found(sentence, policy) is None


def test_sentences_keep_abbreviations_whole() -> None:
    text = (
        "Jefferson Health Northeast is an ACGME accredited 3 year Internal Medicine program. "
        "IMG's MUST be certified by ECFMG to be considered. 6 months of U.S. clinical experience "
        "is preferred. Recent medical school graduates (within the past 5 years) are preferred as well."
    )
    assert sentences(text) == [
        "Jefferson Health Northeast is an ACGME accredited 3 year Internal Medicine program.",
        "IMG's MUST be certified by ECFMG to be considered.",
        "6 months of U.S. clinical experience is preferred.",
        "Recent medical school graduates (within the past 5 years) are preferred as well.",
    ]


def test_a_restriction_outranks_a_welcome_in_one_text() -> None:
    text = "International medical graduates are encouraged to apply. We do not accept IMGs."
    assert found(text, "imgs_welcome") is False


def test_no_text_states_nothing() -> None:
    assert extract_policies(None) == []
    assert extract_policies("") == []
    assert extract_policies(float("nan")) == []


@given(st.text(max_size=300))
def test_any_text_is_read_without_error_and_quotes_are_exact(text: str) -> None:
    for f in extract_policies(text):
        assert f.quote in text or f.quote in " ".join(text.split())


def test_the_real_snapshot_states_exactly_these_policies(programs_frame) -> None:
    """Every finding in the 2025 snapshot's ~530 texts, each quote verbatim in its text: a
    new pattern that starts matching elsewhere (or stops matching here) shows up."""
    texts = programs_frame.set_index("acgme_id")["special_features_text"].dropna()
    assert len(texts) > 500
    got = {}
    for pid, text in texts.items():
        for f in extract_policies(text):
            assert f.quote in text
            got.setdefault(f.policy, set()).add(pid)
    assert got == {
        "yog_limit": {"1402800915", "1404100906"},
        "usce": {"1402800915", "1404100906"},
        "ecfmg_required": {"1404100906"},
        "visa": {"1401621456", "1402500921", "1404812008"},
        "holistic_review": {"1400400924"},
        "imgs_welcome": {"1401621456", "1400500922", "1404121380", "1404100901"},
    }
