"""What an applicant waits on stays light: the `imgpipeline recommend` command's whole path
(the CLI module, reading a published version, the advice, the rendering, writing the files)
imports neither Prefect, Great Expectations, matplotlib, scikit-learn nor Numba (the batch
kernel's compiler: no compile time on that path); the batch core and the per-chunk checks import
neither Prefect nor GX either."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "very_high_h1b.yaml"
HEAVY = ("prefect", "great_expectations", "matplotlib", "sklearn", "numba")


def _loaded(code: str) -> dict[str, list[str]]:
    probe = code + (
        "\nimport json, sys\n"
        f"print(json.dumps({{h: sorted(m for m in sys.modules if m == h or m.startswith(h + '.'))[:5] for h in {HEAVY!r}}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_cli_recommend_path_imports_nothing_heavy(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from imgpipeline.cli import app\n"
        f"r = CliRunner().invoke(app, ['recommend', {str(EXAMPLE)!r}, '--processed-dir', {str(published.processed_dir)!r}, '--out', {str(tmp_path / 'out')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        # Not on a terminal (CliRunner's capture), nothing is drawn: rich is not imported either.
        "assert not [m for m in sys.modules if m.split('.')[0] == 'rich'], 'rich imported'\n"
    )
    loaded = _loaded(code)
    assert (tmp_path / "out" / "recommendation.json").exists()  # the command really ran
    assert loaded == {h: [] for h in HEAVY}, loaded


def test_the_batch_core_and_chunk_checks_import_neither_prefect_nor_gx() -> None:
    loaded = _loaded("import imgpipeline.advice.batch, imgpipeline.checks\n")
    assert loaded["prefect"] == [] and loaded["great_expectations"] == [], loaded
    # The probe itself can fail: a heavy import is seen (Numba's: a second's import, where
    # Prefect's takes several).
    assert _loaded("import numba\n")["numba"]
