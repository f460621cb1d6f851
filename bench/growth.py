"""Growth: the refresh's build of a synthetic program universe k times the real one.

The real ACGME list and FREIDA rows are copied under new program ids (``1409`` + copy + serial,
numbers no real IM program has): the FREIDA copies are written as a CSV in a temporary source
folder and staged from it like the real file; the ACGME list is a PDF, so its staged table is
copied instead. Then the refresh's own build (``imgpipeline.refresh.build.build_tables``, its
steps as plain calls, no Prefect) after the staged tables are validated; then every published
table is validated (its declared suite, with the plausible row count's
upper bound times K), publish a version. The other sources (2016 FREIDA,
NRMP) are dated history of the real programs and stay as they are.

Run one size per process: ``python -m bench.workers growth K``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

SOURCES = (
    "acgme_programs",
    "freida_programs",
    "freida_2016",
    "nrmp_charting_outcomes",
    "nrmp_program_results_fl",
)
FREIDA_AS_OF = "2025-05-26"


def copied_id(real_id: str, copy: int, serial: int) -> str:
    """The id of copy ``copy`` (1..9) of the program with ``serial`` in the sorted real ids."""
    if not 1 <= copy <= 9 or serial >= 100_000:
        raise ValueError("at most 10 copies of at most 100,000 programs")
    return f"1409{copy}{serial:05d}"


def grow(acgme: pd.DataFrame, freida_raw: pd.DataFrame, factor: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The staged ACGME table and the raw FREIDA CSV rows, ``factor`` times: the real rows and
    ``factor - 1`` copies under new ids (one mapping for both sources, so the copies join)."""
    real = sorted(set(acgme["acgme_id"]) | set(freida_raw["program_id"]))
    if any(i.startswith("1409") for i in real):
        raise ValueError("a real program id starts with 1409: choose another prefix for copies")
    serial = {i: n for n, i in enumerate(real)}
    acgmes, freidas = [acgme], [freida_raw]
    for copy in range(1, factor):
        ids = {i: copied_id(i, copy, serial[i]) for i in real}
        acgmes.append(acgme.assign(acgme_id=acgme["acgme_id"].map(ids)))
        new = freida_raw["program_id"].map(ids)
        freidas.append(
            freida_raw.assign(
                program_id=new, source_url="https://freida.ama-assn.org/program/" + new
            )
        )
    return pd.concat(acgmes, ignore_index=True), pd.concat(freidas, ignore_index=True)


def widened(tables: dict[str, Any], factor: int) -> dict[str, Any]:
    """The declared tables with their plausible row counts' upper bound times ``factor`` (a
    universe ten times the real one is, rightly, implausible to the real suites); every other
    check as declared."""
    return {
        name: t if t.max_rows is None else replace(t, max_rows=t.max_rows * factor)
        for name, t in tables.items()
    }


def refresh_grown(factor: int) -> dict[str, Any]:
    """Stage and build a ``factor``x universe; time the steps from staging FREIDA to the
    published version (the real snapshots are landed and staged first, untimed)."""
    from bench.workers import peak_rss_mb
    from imgpipeline.refresh import build
    from imgpipeline.refresh import changes as change_steps
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.stage import Staged, stage_snapshot
    from imgpipeline.refresh.stage.acgme import parse_acgme
    from imgpipeline.refresh.validate import validate_frames
    from imgpipeline.settings import get_settings
    from imgpipeline.store import publish_version
    from imgpipeline.tables import TABLES

    tmp = Path(tempfile.mkdtemp(prefix=f"imgpipeline-bench-growth-{factor}x-"))
    real = get_settings(raw_dir=tmp / "raw", processed_dir=tmp / "processed")
    snaps = {name: land_snapshot(name, real) for name in SOURCES}
    acgme1 = TABLES["acgme_programs"].coerce(parse_acgme(snaps["acgme_programs"].local_path))
    freida_raw = pd.read_csv(snaps["freida_programs"].local_path, dtype=str, keep_default_na=False)
    acgme, freida_rows = grow(acgme1, freida_raw, factor)
    src = tmp / "src" / "freida"
    src.mkdir(parents=True)
    grown_csv = src / f"internal-medicine-programs-{factor}x_{FREIDA_AS_OF}.csv"
    freida_rows.to_csv(grown_csv, index=False)
    settings = get_settings(raw_dir=tmp / "raw", processed_dir=tmp / "processed", source_files={"freida_programs": str(grown_csv)})
    snaps["freida_programs"] = land_snapshot("freida_programs", settings)
    staged = {name: stage_snapshot(snaps[name]) for name in ("freida_2016", "nrmp_charting_outcomes", "nrmp_program_results_fl")}
    staged["acgme_programs"] = Staged("acgme_programs", {"acgme_programs": acgme})
    del freida_raw, freida_rows
    checks = widened(TABLES, factor)
    rss_before = peak_rss_mb()

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    staged["freida_programs"] = stage_snapshot(snaps["freida_programs"])
    t_stage = time.perf_counter() - t0
    validate_frames([
        (staged[source].frames[name], checks[name], snaps[source].snapshot_id)
        for source, name in (("acgme_programs", "acgme_programs"), ("freida_programs", "freida_programs"), ("freida_2016", "freida_2016_programs"))
    ])
    t_staged_valid = time.perf_counter() - t0
    published = build.build_tables(staged, snaps, settings).published  # the refresh's build, plain calls
    published["changes"], _ = change_steps.changes_since_current(published, settings)
    t_build = time.perf_counter() - t0 - t_staged_valid
    t1 = time.perf_counter()
    validate_frames([(df, checks[name], "published") for name, df in published.items()])
    t_valid = time.perf_counter() - t1
    t1 = time.perf_counter()
    publish_version(published, settings, {"bench": f"growth {factor}x"})
    t_publish = time.perf_counter() - t1
    return {
        "factor": factor,
        "programs": len(published["programs"]),
        "freida_rows": len(staged["freida_programs"].frame),
        "rows_published": sum(len(df) for df in published.values()),
        "score_reasons": len(published["score_reasons"]),
        "stage_freida_s": t_stage,
        "validate_staged_s": t_staged_valid - t_stage,
        "build_s": t_build,
        "validate_published_s": t_valid,
        "publish_s": t_publish,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - cpu0,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "folder": str(tmp),
    }
