"""The batch kernel's pieces against the NumPy code they stand for: the ranking (a radix sort
must give ``lists.ranking``'s stable order, ties to the lower program index, on keys that tie
exactly, differ only in their last bits, or are zeros of either sign), P(interview) (its own
exp against ``model.sigmoid``) and the size curve's recursion (``outcome.interview_distribution``).
The whole batch against ``recommend`` is tests/test_batch.py."""

from __future__ import annotations

import numpy as np
import pytest

from imgpipeline.advice import kernel
from imgpipeline.advice.model import sigmoid
from imgpipeline.advice.outcome import interview_distribution


def _ranked(keys: np.ndarray) -> np.ndarray:
    n = len(keys)
    hk, hi = keys.astype(float).copy(), np.arange(n, dtype=np.int64)
    spare = [np.empty(n, dtype=np.int64) for _ in range(3)]
    ranked = np.empty(n, dtype=np.int64)
    kernel.rank(hk, hi, n, spare[0], spare[1], spare[2], ranked)
    return ranked


@pytest.mark.parametrize("seed", range(6))
def test_rank_is_the_stable_descending_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(-4, 3, 400)
    keys = np.concatenate([
        base,
        base[:40],                                  # exact ties
        np.nextafter(base[40:80], np.inf),          # one unit in the last place apart
        base[80:120] * (1 + 1e-13),                 # equal in the radix bytes, not after them
        [0.0, -0.0, 0.0, -0.0, 1e-300, -1e-300],    # zeros of both signs tie
    ])
    keys = keys[rng.permutation(len(keys))]
    want = np.argsort(-keys, kind="stable")
    assert (_ranked(keys) == want).all()


def test_rank_of_nothing_and_of_one() -> None:
    assert len(_ranked(np.array([]))) == 0
    assert list(_ranked(np.array([-3.5]))) == [0]
    assert list(_ranked(np.array([2.0, 2.0, 2.0]))) == [0, 1, 2]


def test_sigmoid_is_the_models_within_a_few_units_in_the_last_place() -> None:
    x = np.concatenate([np.linspace(-40, 40, 200_001), np.random.default_rng(1).normal(-3, 3, 100_000), [-800.0, 800.0, 0.0]])
    got = np.empty_like(x)
    kernel.sigmoids(x, got, len(x))
    assert np.max(np.abs(got - sigmoid(x))) <= 2.3e-16  # one unit in the last place of 1.0
    assert 0 <= got[-3] < 1e-300 and got[-2] == 1.0 and got[-1] == 0.5
    # A wrong constant (one more or one less Taylor term, say) is seen.
    with np.errstate(over="ignore"):
        assert np.max(np.abs(got - 1 / (1 + np.exp(-x * (1 + 1e-12))))) > 1e-13


def test_sigmoid_range_is_the_scalar_sigmoid_to_the_last_bit() -> None:
    x = np.concatenate([np.linspace(-40, 40, 20_001), np.random.default_rng(2).normal(-3, 3, 10_000), [-800.0, 800.0, 0.0, -0.0, 700.0, -700.0, 1e-300]])
    want = np.array([kernel.sigmoid(v) for v in x])
    got = np.full_like(x, np.nan)
    ks = np.empty(len(x), dtype=np.int64)
    kernel.sigmoid_range(x, got, 5, len(x), ks)
    assert np.isnan(got[:5]).all()      # only the range asked for is written
    assert (got[5:].view(np.int64) == want[5:].view(np.int64)).all()


def test_the_recursion_is_outcomes_to_the_last_bit() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.4, 300)
    kmax = 40
    d = np.zeros(kmax + 1)
    d[0] = 1.0
    for i, q in enumerate(p):
        kernel.step(d, q, i + 1)
    want = interview_distribution(p[None, :], kmax)[0, 0]
    assert (d == want).all()
