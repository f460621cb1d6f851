"""The outcome recursion compiled for the web app (``advice.compiled``): the same distributions
as NumPy's, to the last bit, for any rows and prefixes asked in any order, and so the same
recommendation whichever runs it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipeline.advice import compiled, outcome
from imgpipeline.advice.profile import parse_profile
from imgpipeline.advice.recommend import recommend
from tests.conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def numpy_first() -> Iterator[None]:
    """Whatever a test switches, the process's recursion is what it was before (the web app's
    tests may have switched it on)."""
    before = outcome._advance[0] if outcome._advance else None
    outcome.use_compiled(None)
    yield
    outcome.use_compiled(before)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 80), st.integers(1, 45), st.lists(st.integers(0, 80), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_compiled_prefixes_are_numpys_to_the_last_bit(rows: int, n: int, kmax: int, asks: list[int], seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.6, (rows, n))
    want, got = outcome.Prefixes(p, kmax), outcome.CompiledPrefixes(p, kmax, compiled.advance)
    for k in [min(a, n) for a in asks] + [n]:
        assert got.at(k).shape == (rows, kmax + 1)
        assert np.array_equal(got.at(k), want.at(k))


def test_use_compiled_switches_the_recursion_and_back(numpy_first: None) -> None:
    assert isinstance(outcome.prefixes(np.zeros((1, 3)), 4), outcome.Prefixes)
    compiled.install()
    assert isinstance(outcome.prefixes(np.zeros((1, 3)), 4), outcome.CompiledPrefixes)
    outcome.use_compiled(None)
    assert isinstance(outcome.prefixes(np.zeros((1, 3)), 4), outcome.Prefixes)


@pytest.mark.parametrize("name", ["moderately_low_j1", "very_high_h1b"])
def test_a_recommendation_is_the_same_whichever_recursion_runs(published, name: str, numpy_first: None) -> None:  # type: ignore[no-untyped-def]
    profile = parse_profile(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()), settings=published)
    by_numpy = recommend(profile, published, settings=published)
    compiled.install()
    by_compiled = recommend(profile, published, settings=published)
    assert by_numpy.json_bytes() == by_compiled.json_bytes()
    assert [o.p_match for o in by_numpy.size_curve] == [o.p_match for o in by_compiled.size_curve]
