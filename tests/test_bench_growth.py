"""The growth bench's synthetic universe (bench/growth.py): copies under new ids that join."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.growth import copied_id, grow


def test_copies_get_new_ids_that_join_across_the_two_sources() -> None:
    acgme = pd.DataFrame({"acgme_id": ["1400100001", "1400200002"], "program_name": ["A", "B"]})
    freida = pd.DataFrame({"program_id": ["1400200002"], "source_url": ["x"]})
    a, f = grow(acgme, freida, 3)
    assert len(a) == 6 and len(f) == 3
    assert a["acgme_id"].is_unique and set(f["program_id"]) <= set(a["acgme_id"])
    assert list(f["program_id"]) == ["1400200002", copied_id("1400200002", 1, 1), copied_id("1400200002", 2, 1)]
    assert f["source_url"].iloc[1].endswith(f["program_id"].iloc[1])


def test_at_most_ten_copies() -> None:
    with pytest.raises(ValueError, match="at most 10 copies"):
        copied_id("1400100001", 10, 0)
