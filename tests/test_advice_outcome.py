"""From a list to the outcome: the Poisson-binomial count of interviews against brute force,
P(match | list) through the contiguous-ranks curve, and the size curve's shape."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipeline.advice.outcome import RanksCurve, interview_distribution, size_curve
from tests import synthetic

RANKS = RanksCurve.from_curve(synthetic.curve())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_interview_distribution_equals_brute_force(ps: list[float]) -> None:
    p = np.array(ps)
    brute = np.zeros(len(p) + 1)
    for outcome in itertools.product([0, 1], repeat=len(p)):
        o = np.array(outcome)
        brute[o.sum()] += np.prod(np.where(o == 1, p, 1 - p))
    got = interview_distribution(p[None, :], kmax=len(p))[0, 0]
    assert np.allclose(got, brute, atol=1e-12)
    capped = interview_distribution(p[None, :], kmax=2)[0, 0]   # K >= kmax lands in the last bucket
    assert np.isclose(capped[-1], brute[2:].sum()) and np.isclose(capped.sum(), 1)


def test_no_interview_means_no_match_and_the_curve_is_read_from_one() -> None:
    assert RANKS.p[0] == 0.0 and RANKS.kmax == 40
    out = size_curve(np.zeros(5), np.zeros(5), np.zeros(5), RANKS, np.array([5]))[0]
    assert out.p_match == 0.0 and out.p_no_interview == 1.0 and out.expected_interviews == 0.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.001, 0.5), min_size=20, max_size=60))
def test_size_curve_rises_with_the_list_and_keeps_its_band(ps: list[float]) -> None:
    p = np.sort(np.array(ps))[::-1]
    sizes = np.arange(5, len(p) + 1, 5)
    curve = size_curve(p, p * 0.8, np.minimum(p * 1.2, 1), RANKS, sizes)
    e = [o.expected_interviews for o in curve]
    m = [o.p_match for o in curve]
    assert np.all(np.diff(e) >= 0) and np.all(np.diff(m) >= -1e-12)
    for o, n in zip(curve, sizes, strict=True):
        assert np.isclose(o.expected_interviews, p[:n].sum())
        assert o.interviews_low <= o.expected_interviews <= o.interviews_high
        assert o.p_match_low <= o.p_match <= o.p_match_high + 1e-12


def test_a_ranked_lists_p_match_is_the_matmuls_to_the_last_bit() -> None:
    """``RankedList`` reads each P(match) as one row's dot product (``_row_p_match``): on varied
    lists and sizes, with NumPy's recursion and with the compiled one, it is the float the
    matmul of ``p_match`` gives, bit for bit, and the outcome's P(match) is ``p_match`` alone."""
    from imgpipeline.advice import outcome

    rng = np.random.default_rng(6)
    compiled = []
    try:
        from imgpipeline.advice.compiled import advance

        compiled = [advance]
    except ImportError:   # without Numba: NumPy's recursion only
        pass
    for advance in [None, *compiled]:
        outcome.use_compiled(advance)
        try:
            for _ in range(40):
                n = int(rng.integers(1, 90))
                chances = rng.random((6, n)) ** rng.uniform(1, 6)
                ranked = outcome.RankedList(chances, RANKS)
                for size in sorted({1, n, *rng.integers(1, n + 1, 5).tolist()}):
                    for g in (0, 1):
                        d = np.ascontiguousarray(ranked.prefixes.at(size)[3 * g : 3 * g + 3])
                        want = [float(outcome.p_match(d[k], c)) for k, c in enumerate((RANKS.p, RANKS.low, RANKS.high))]
                        got = ranked.outcome(g, size)
                        assert [got.p_match, got.p_match_low, got.p_match_high] == want
                        assert ranked.p_match(g, size) == want[0]
        finally:
            outcome.use_compiled(None)
