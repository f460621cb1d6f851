"""The interview-chance model's invariants (property tests on synthetic programs in the
published format): P never rises with a worse Step 2 CK, more failures or a lower openness;
one applicant's terms worked by hand from the rulebook; P is the logistic of the logit;
unknown fields add nothing; exclusions are hard."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipeline.advice.model import TERMS, Applicants, compute_terms
from imgpipeline.advice.profile import applicant_frame, parse_profile
from imgpipeline.settings import Settings
from tests import synthetic

SETTINGS = Settings()  # the rules every call here is given

DATA = synthetic.published(80, seed=3)


def frame(**fields: object) -> pd.DataFrame:
    base = {"graduation_year": 2023, "step2ck": {"score": 240}, "visa_need": "none"}
    base.update(fields)
    return applicant_frame([parse_profile(base, settings=SETTINGS)], 2026)


def chances(df: pd.DataFrame, data=DATA) -> np.ndarray:  # type: ignore[no-untyped-def]
    return compute_terms(data.coefficients, data.programs, Applicants.from_frame(df)).p


@settings(max_examples=40, deadline=None)
@given(ck=st.integers(214, 279), drop=st.integers(1, 30), visa=st.sampled_from(["none", "j1", "h1b", "either"]))
def test_p_never_rises_with_a_worse_step2ck(ck: int, drop: int, visa: str) -> None:
    better = chances(frame(step2ck={"score": ck}, visa_need=visa))
    worse = chances(frame(step2ck={"score": max(ck - drop, 190)}, visa_need=visa))
    assert (worse <= better + 1e-15).all()
    eligible = better > 0
    assert (worse[eligible] < better[eligible]).all()  # graded: every eligible program moves


@settings(max_examples=30, deadline=None)
@given(attempts=st.integers(1, 3), extra=st.integers(1, 2), ck=st.integers(215, 260))
def test_p_never_rises_with_more_failures(attempts: int, extra: int, ck: int) -> None:
    fewer = chances(frame(step1={"passed": True, "attempts": attempts}, step2ck={"score": ck}))
    more = chances(frame(step1={"passed": True, "attempts": attempts + extra}, step2ck={"score": ck}))
    assert (more <= fewer + 1e-15).all()
    assert (more[fewer > 0] < fewer[fewer > 0]).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), cut=st.floats(0.05, 2.0))
def test_p_never_rises_with_a_lower_openness(seed: int, cut: float) -> None:
    data = synthetic.published(40, seed=seed)
    lower = synthetic.openness(40, seed=seed)
    lower["openness"] = lower["openness"] - cut
    worse = synthetic.published(40, seed=seed, openness=lower["openness"])
    df = frame(step2ck={"score": 230})
    assert (chances(df, worse) < chances(df, data)).all()


def test_a_known_applicant_gets_the_rulebooks_terms_worked_by_hand() -> None:
    """Every term, the logit and P for one applicant at three programs, worked out by hand from
    the rulebook's interview constants (synthetic.FIXED for the calibrated ones: reference CK
    245, 0.033 per point, calibration -3.5). A change of a constant or of a rule fails here.

    The applicant: Step 2 CK 230, one Step 1 failure (not offset: CK below 235), graduated 10
    years ago (beyond the YOG threshold of 5), observerships only (2 months, no hands-on), one
    US IM letter, needs a J-1.
    Program 0, community (selectivity 0): openness 0.5, bonus 0.3, J-1 yes, likely YOG-tolerant.
    Program 1, highly competitive (selectivity 1): openness -1.0, J-1 unknown, likely strict,
    USCE required (3 months).
    Program 2, mid-tier (0.5): J-1 not sponsored: excluded, P = 0."""
    data = synthetic.published(
        3, seed=0,
        program_tier=["community", "highly_competitive_academic", "mid_tier_academic_hybrid"],
        selectivity=[0.0, 1.0, 0.5],
        openness=[0.5, -1.0, 0.0],
        program_bonus=[0.3, 0.0, 0.0],
        visa_j1=["yes", "unknown", "no"],
        yog_tolerance=["likely_tolerant", "likely_strict", "unknown"],
        usce_policy=["", "required", ""],
        usce_months=[np.nan, 3.0, np.nan],
    )
    applicant = frame(
        graduation_year=2016, step1={"passed": True, "attempts": 2}, step2ck={"score": 230},
        usce={"hands_on_months": 0, "observership_months": 2}, us_im_letters=1, visa_need="j1",
    )
    terms = compute_terms(data.coefficients, data.programs, Applicants.from_frame(applicant))
    by_hand = {
        "baseline": [-3.5 + 0.5, -3.5 - 1.0, -3.5 + 0.0],
        "program_facts": [0.3, 0.0, 0.0],
        "step2ck": [0.033 * (230 - 245) * 1.0, 0.033 * (230 - 245) * 2.0, 0.033 * (230 - 245) * 1.5],
        "minimums_2016": [0.0, 0.0, 0.0],
        "failures": [-0.9, -0.9, -0.9],
        "yog": [-0.3, -1.2, -0.6],
        "usce": [-0.4, -0.4, -0.4],
        "usce_policy": [0.0, -1.5, 0.0],
        "letters": [-0.2, -0.2, -0.2],
        "recent_clinical": [0.0, 0.0, 0.0],
        "gaps": [0.0, 0.0, 0.0],
        "visa": [0.0, -0.5, 0.0],
        # Screens (failures, yog, usce, letters): all but the largest count half.
        "overlap": [0.5 * (0.3 + 0.4 + 0.2), 0.5 * (0.9 + 0.4 + 0.2), 0.5 * (0.6 + 0.4 + 0.2)],
    }
    assert list(terms.terms) == list(TERMS) == list(by_hand)
    for term, expected in by_hand.items():
        assert np.allclose(terms.terms[term][0], expected, atol=1e-12), (term, terms.terms[term][0])
    assert np.allclose(terms.logit[0, :2], [-4.545, -9.44], atol=1e-12)
    assert [k for k, v in terms.excluded.items() if v[0, 2]] == ["excluded_visa"]
    assert not terms.any_excluded[0, :2].any()
    # P by the logistic function: 1 / (1 + e^4.545) and 1 / (1 + e^9.44).
    assert np.allclose(terms.p[0], [0.01050857, 7.947409e-05, 0.0], rtol=1e-6, atol=0)


@settings(max_examples=30, deadline=None)
@given(ck=st.integers(214, 290), years=st.integers(0, 15), hands=st.sampled_from([None, 0, 2, 4]), letters=st.sampled_from([None, 0, 1, 3]))
def test_p_is_the_logistic_of_the_logit_or_zero_when_excluded(ck: int, years: int, hands: float | None, letters: int | None) -> None:
    fields: dict[str, object] = {"step2ck": {"score": ck}, "graduation_year": 2026 - years, "visa_need": "j1"}
    if hands is not None:
        fields["usce"] = {"hands_on_months": hands}
    if letters is not None:
        fields["us_im_letters"] = letters
    terms = compute_terms(DATA.coefficients, DATA.programs, Applicants.from_frame(frame(**fields)))
    ok = ~terms.any_excluded  # a J-1 need: the programs that do not sponsor it are excluded
    assert ok.any() and (~ok).any()
    assert np.allclose(terms.p[ok], 1.0 / (1.0 + np.exp(-terms.logit[ok])), rtol=1e-12, atol=0)
    assert ((terms.p[ok] > 0) & (terms.p[ok] < 1)).all()
    assert (terms.p[~ok] == 0).all()


def test_a_field_left_out_adds_nothing_and_a_stated_weakness_costs() -> None:
    unstated = compute_terms(DATA.coefficients, DATA.programs, Applicants.from_frame(frame()))
    for term in ("usce", "letters", "recent_clinical", "gaps"):
        assert (unstated.terms[term] == 0).all(), term
    stated = compute_terms(DATA.coefficients, DATA.programs, Applicants.from_frame(
        frame(usce={"hands_on_months": 0, "observership_months": 0}, us_im_letters=0, recent_clinical_work=False, unexplained_gaps=True)
    ))
    c = DATA.coefficients
    assert np.allclose(stated.terms["usce"], c["no_usce"])
    assert np.allclose(stated.terms["letters"], c["few_letters"])
    assert np.allclose(stated.terms["recent_clinical"], c["no_recent_clinical_work"])
    assert np.allclose(stated.terms["gaps"], c["unexplained_gaps"])


def test_a_low_ck_costs_more_at_a_selective_program() -> None:
    terms = compute_terms(DATA.coefficients, DATA.programs, Applicants.from_frame(frame(step2ck={"score": 220})))
    sel = DATA.programs.selectivity
    ck = terms.terms["step2ck"][0]
    assert ck[sel == 1.0].max() < ck[sel == 0.5].min() <= ck[sel == 0.5].max() < ck[sel == 0.0].min() < 0


def test_a_strong_ck_partly_offsets_a_step1_failure_only() -> None:
    c = DATA.coefficients
    weak = compute_terms(c, DATA.programs, Applicants.from_frame(frame(step1={"passed": True, "attempts": 2}, step2ck={"score": 230})))
    strong = compute_terms(c, DATA.programs, Applicants.from_frame(frame(step1={"passed": True, "attempts": 2}, step2ck={"score": 245})))
    ck_fail = compute_terms(c, DATA.programs, Applicants.from_frame(frame(step2ck={"score": 245, "attempts": 2})))
    assert np.allclose(weak.terms["failures"], c["first_failure"])
    assert np.allclose(strong.terms["failures"], c["first_failure"] * c["step1_failure_offset_fraction"])
    assert np.allclose(ck_fail.terms["failures"], c["first_failure"])  # a CK failure is not offset by CK


def test_exclusions_are_hard_and_said() -> None:
    data = synthetic.published(30, seed=1, military=[True] + [False] * 29, excludes_failed_attempts=[False, True] + [False] * 28)
    civilian = compute_terms(data.coefficients, data.programs, Applicants.from_frame(frame(step1={"passed": True, "attempts": 2}, visa_need="j1")))
    assert civilian.excluded["excluded_military"][0, 0] and civilian.p[0, 0] == 0
    assert civilian.excluded["excluded_failed_attempts"][0, 1] and civilian.p[0, 1] == 0
    j1_no = np.isin(data.programs.visa_j1, ["no", "no_inferred"])
    assert (civilian.excluded["excluded_visa"][0] == j1_no).all()
    member = compute_terms(data.coefficients, data.programs, Applicants.from_frame(frame(service_member=True)))
    assert not member.excluded["excluded_military"][0, 0] and member.p[0, 0] > 0


def test_applicants_from_typed_values_are_those_of_the_frame() -> None:
    """``Applicants.from_rows`` (one array of the numbers, None as nan) reads the profiles'
    typed values as ``from_frame`` reads their frame: every field, stated or not."""
    from imgpipeline.advice.profile import applicant_values

    profiles = [parse_profile(p, settings=SETTINGS) for p in (
        {"graduation_year": 2023, "step2ck": {"score": 240}},
        {"graduation_year": 2015, "step1": {"passed": True, "attempts": 2, "score": 201}, "step2ck": {"score": 222, "attempts": 3},
         "usce": {"hands_on_months": 2.5, "observership_months": 1}, "us_im_letters": 0, "visa_need": "h1b",
         "step3": {"taken": True, "passed": True}, "unexplained_gaps": True, "recent_clinical_work": False, "service_member": True},
        {"graduation_year": 2024, "step1": {"taken": False, "passed": False}, "visa_need": "either", "recent_clinical_work": True, "unexplained_gaps": False},
    )]
    rows = Applicants.from_rows([applicant_values(p, 2026) for p in profiles])
    frame = Applicants.from_frame(applicant_frame(profiles, 2026))
    for name, value in vars(frame).items():
        assert getattr(rows, name).dtype == value.dtype, name
        assert np.array_equal(getattr(rows, name), value, equal_nan=value.dtype.kind == "f"), name
    assert np.isnan(rows.step2ck[2]) and np.isnan(rows.letters[0]) and rows.recent_clinical.tolist()[1:] == [0.0, 1.0]


def test_the_overlap_and_the_filled_nans_are_numpys() -> None:
    """``compute_terms`` sums the screens one by one and fills nan with ``nan_to``: the same
    floats, to the last bit, as summing their stack and ``np.nan_to_num``, on applicants with
    every screen stated, none, or some; and read-only (G, P) terms as before."""
    from imgpipeline.advice.model import SCREENS, nan_to

    frames = [frame(), frame(step1={"passed": True, "attempts": 3}, step2ck={"score": 221, "attempts": 2}, graduation_year=2012,
                           usce={"hands_on_months": 0, "observership_months": 0}, us_im_letters=0, recent_clinical_work=False, unexplained_gaps=True),
              frame(usce={"hands_on_months": 1}, us_im_letters=1, graduation_year=2016), frame(step2ck=None, visa_need="h1b")]
    apps = Applicants.from_frame(pd.concat(frames, ignore_index=True))
    c, ps = DATA.coefficients, DATA.programs
    terms = compute_terms(c, ps, apps)
    shape = (apps.n, ps.n)
    neg = np.stack([np.broadcast_to(np.minimum(terms.terms[k], 0.0), shape) for k in SCREENS])
    stacked = -c["screen_overlap"] * (neg.sum(axis=0) - neg.min(axis=0))
    assert np.array_equal(terms.terms["overlap"], stacked) and (stacked != 0).any()
    assert all(v.shape == shape and not v.flags.writeable for v in terms.terms.values())
    for x in (np.array([np.nan, -0.0, 2.5, 1e300]), np.array([np.inf, np.nan, -np.inf]), np.array([3, 0]), np.zeros(0)):
        for value in (0.0, -1.0):
            got, want = nan_to(x, value), np.nan_to_num(x, nan=value)
            assert got.dtype == want.dtype and np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))
