"""docs/reading.md's examples run, as a reader would run them, against a real published
version (the session fixture ``published``), with ``data/processed/current`` pointed at it."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from imgpipeline.settings import PROJECT_DIR, Settings
from imgpipeline.store import read_table
from imgpipeline.tables import PUBLISHED

SETTINGS = Settings()  # the rules every call here is given

READING = PROJECT_DIR / "docs" / "reading.md"
CURRENT = "data/processed/current"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
LIBRARIES = {"pandas": "import pandas", "pyarrow": "import pyarrow", "duckdb": "import duckdb", "polars": "import polars"}


def blocks() -> list[str]:
    """The python examples, each padded with blank lines so a traceback names its line of
    reading.md."""
    text = READING.read_text()
    return ["\n" * text[: m.start(1)].count("\n") + m.group(1) for m in BLOCK.finditer(text)]


def run(code: str, current: Path) -> str:
    """One example with the current folder swapped in; what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.replace(CURRENT, str(current)), str(READING), "exec"), {})
    return out.getvalue()


def test_the_examples_cover_every_library_and_read_the_current_folder() -> None:
    found = blocks()
    assert len(found) >= 6
    for library, statement in LIBRARIES.items():
        assert any(statement in b for b in found), f"no {library} example in {READING}"
    assert all(CURRENT in b for b in found), "an example that does not read the published data"
    named = {m for b in found for m in re.findall(rf"{CURRENT}/(\w+)\.parquet", b)}
    assert named and named <= set(PUBLISHED), named - set(PUBLISHED)


@pytest.mark.parametrize("index", range(len(blocks())))
def test_each_example_runs_on_a_real_version(index: int, published: Settings) -> None:
    printed = run(blocks()[index], published.current_dir)
    assert printed.strip(), "the example printed nothing"


def test_the_examples_print_the_real_numbers(published: Settings) -> None:
    printed = "\n".join(run(b, published.current_dir) for b in blocks())
    programs = read_table("programs", published)
    assert f"{len(programs)} programs" in printed
    assert f"{int(programs['img_share'].isna().sum())} without a stated IMG share" in printed
    h1b = int((programs["lists_h1b"] == True).sum())  # noqa: E712
    assert f"{h1b} programs list H-1B" in printed
    ny = int((programs["state"] == "NY").sum())
    assert f"{ny} programs in New York" in printed
    assert f"programs schema {PUBLISHED['programs'].schema_version} fingerprint {PUBLISHED['programs'].fingerprint()}" in printed
    added_up = re.search(r"log-odds add up to (-?[\d.]+) = logit (-?[\d.]+)", printed)
    assert added_up and added_up.group(1) == added_up.group(2), "the reasons do not add up"
    for path in published.current_dir.glob("*.parquet"):
        assert re.search(rf"{path.stem}\s+\d+ rows\s+schema {PUBLISHED[path.stem].schema_version}", printed)


def test_the_sql_chances_equal_the_package(published: Settings) -> None:
    """The DuckDB example computes the same P(interview) as imgpipeline.advice.model."""
    from imgpipeline.advice.model import Applicants, compute_terms
    from imgpipeline.advice.profile import applicant_frame, parse_profile
    from imgpipeline.advice.published import load_published

    block = next(b for b in blocks() if "program_openness.parquet" in b)
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(block.replace(CURRENT, str(published.current_dir)), str(READING), "exec"), scope)
    sql = scope["chances"].set_index("acgme_id")["p_interview"]
    data = load_published(published)
    profile = parse_profile({"graduation_year": 2023, "step2ck": {"score": 231}, "usce": {"hands_on_months": 3}, "visa_need": "j1"}, settings=SETTINGS)
    terms = compute_terms(data.coefficients, data.programs, Applicants.from_frame(applicant_frame([profile], 2026)))
    package = dict(zip(data.programs.acgme_id, terms.p[0], strict=True))
    diff = max(abs(sql[k] - v) for k, v in package.items())
    assert len(sql) == len(package) and diff < 1e-9, diff
