"""One measurement per process: ``python -m bench.workers WHAT VERSION_DIR [ARGS]`` (or
``growth FACTOR``, ``nowork``) prints one JSON line of figures (seconds, pairs per second,
peak RSS of this process)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency(version_dir: str, repeats: int) -> dict[str, Any]:
    """recommend() for the two docs examples: import, first call (reads the version) and warm
    calls (the version cached, as behind an app)."""
    t0 = time.perf_counter()
    from imgpipeline.advice.profile import load_profile
    from imgpipeline.advice.published import load_published
    from imgpipeline.advice.recommend import recommend

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    from imgpipeline.settings import Settings

    settings = Settings()
    data = load_published(Path(version_dir))
    t_load = time.perf_counter() - t0
    out: dict[str, Any] = {"import_s": t_import, "load_version_s": t_load, "profiles": {}}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        name = path.stem
        profile = load_profile(path, settings)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            rec = recommend(profile, data, settings=settings)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        recommend(profile, data, settings=settings)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        times.sort()
        out["profiles"][name] = {
            "listed": rec.n_listed,
            "median_s": statistics.median(times),
            "p95_s": times[min(len(times) - 1, int(0.95 * len(times)))],
            "min_s": times[0],
            "tracemalloc_peak_mb": peak / 2**20,
        }
    out["peak_rss_mb"] = peak_rss_mb()
    return out


CORE_RUNS = 3   # timed batches after the first, in the same process: the median is the core's rate


def batch_core(version_dir: str, n: int, duck: bool = True) -> dict[str, Any]:
    """read_profiles + score_profiles (no Prefect, no GX, no writing) for n random profiles:
    the first batch of the process (its memory faulted in fresh, as a one-off run pays it),
    then ``CORE_RUNS`` more of the same batch (the previous result freed, as a service or the
    flow's chunk after chunk runs): their median is the core's rate. Then the same model as
    DuckDB SQL (threads = cores) on the same profiles, checked to give the same P(interview)
    (within 1e-9) and the same lists."""
    from imgpipeline.advice import batch as bt
    from imgpipeline.advice.published import load_published

    data = load_published(Path(version_dir))
    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        path = bt.write_input(bt.random_profiles(n, seed=2026), Path(tmp) / "profiles.parquet")
        t0, c0 = time.perf_counter(), time.process_time()
        profiles = bt.read_profiles(path)
        t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
        bt.score_profiles(profiles.chunks(200)[0], data)  # warm: the version's arrays prepared once, the kernel loaded
        runs = []
        for _ in range(1 + CORE_RUNS):
            apps = recs = None   # the previous batch's rows freed first
            t0, c0 = time.perf_counter(), time.process_time()
            apps, recs = bt.score_profiles(profiles, data, chunk_size=5000)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
    pairs = n * data.n
    rss_core = peak_rss_mb()
    t_score, c_score = statistics.median_low(runs[1:]) if CORE_RUNS else runs[0]   # by wall time
    out_duck = duckdb_compare(data, profiles, apps, recs, pairs) if duck else {}
    return {
        "profiles": n,
        "programs": data.n,
        "pairs": pairs,
        "rows_out": len(recs),
        "read_validate_s": t_read,
        "score_s": t_score,
        # CPU time of the process (every thread): less sensitive than wall time to the other
        # users of a shared machine.
        "read_validate_cpu_s": c_read,
        "score_cpu_s": c_score,
        "score_first_s": runs[0][0],
        "score_first_cpu_s": runs[0][1],
        "score_runs_s": [w for w, _ in runs[1:]],
        "pairs_per_s_score": pairs / t_score,
        "pairs_per_s_first": pairs / runs[0][0],
        "pairs_per_s_read_and_score": pairs / (t_read + runs[0][0]),
        "peak_rss_mb": rss_core,
        **out_duck,
    }


def duckdb_compare(data: Any, profiles: Any, apps: Any, recs: Any, pairs: int) -> dict[str, Any]:
    """The published coefficients as DuckDB SQL on the same profiles: its rate, and whether it
    gives the core's P(interview) and lists."""
    import numpy as np

    from bench import duck
    from imgpipeline.advice.lists import list_rules
    from imgpipeline.advice.model import Applicants, compute_terms
    from imgpipeline.advice.risk import assess_frame
    from imgpipeline.advice.risk import rules as risk_rules
    from imgpipeline.settings import Settings, usable_cpus

    settings = Settings()
    rules = list_rules(settings)
    frame = profiles.applicants
    tier = assess_frame(frame, risk_rules(settings))["risk_rank"].to_numpy()
    a = Applicants.from_frame(frame)
    table = duck.applicant_frame(a, tier, profiles.preferred, apps["programs_listed"].to_numpy())
    threads = usable_cpus()
    c0 = time.process_time()
    got, seconds = duck.run(data, rules, table, threads)
    cpu = time.process_time() - c0
    # The same lists: the same programs at the same ranks, with P(interview) within 1e-9.
    same_lists = len(got) == len(recs) and bool((got["acgme_id"].to_numpy() == recs["acgme_id"].to_numpy(dtype=object)).all()) and bool(
        (got["rank"].to_numpy() == recs["rank"].to_numpy()).all()
    )
    listed_diff = float(np.max(np.abs(got["p"].to_numpy() - recs["p_interview"].to_numpy()))) if len(got) == len(recs) and len(got) else float("nan")
    # Every pair of a sample of applicants (all 688 programs each) against compute_terms.
    sample = min(500, a.n)
    sub = table.iloc[:sample]
    pp = duck.pair_p(data, rules, sub)["p"].to_numpy().reshape(sample, data.n)
    mine = compute_terms(data.coefficients, data.programs, a.take(np.arange(sample))).p
    pair_diff = float(np.max(np.abs(pp - mine)))
    return {
        "duckdb_threads": threads,
        "duckdb_s": seconds,
        "duckdb_cpu_s": cpu,
        "duckdb_pairs_per_s": pairs / seconds,
        "core_over_duckdb": None,
        "duckdb_same_lists": same_lists,
        "duckdb_max_abs_diff_listed": listed_diff,
        "duckdb_max_abs_diff_pairs": pair_diff,
        "duckdb_pairs_checked": sample * data.n,
    }


def batch_flow(version_dir: str, n: int, runner: str) -> dict[str, Any]:
    """The whole Prefect flow (read, validate, score, GX, publish) for n random profiles."""
    from imgpipeline.advice import batch as bt
    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        path = bt.write_input(bt.random_profiles(n, seed=2026), Path(tmp) / "profiles.parquet")
        from flows.batch import run_batch

        t0, c0 = time.perf_counter(), time.process_time()
        result = run_batch(str(path), processed_dir=str(Path(tmp) / "processed"), version_dir=version_dir, runner=runner, dask_workers=2)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pairs = n * result["programs"]
    return {
        "profiles": n,
        "runner": runner,
        "pairs": pairs,
        "rows_out": result["tables"]["batch_recommendations"],
        "wall_s": wall,
        "cpu_s": cpu,
        "pairs_per_s": pairs / wall,
        "peak_rss_mb": peak_rss_mb(),
    }


def no_work_refresh() -> dict[str, Any]:
    """The refresh flow twice in one process on the real snapshots, into a temporary folder:
    the first computes and publishes (and starts Prefect's temporary server), the second finds
    the same snapshots, rulebook and code, and publishes nothing."""
    from flows.refresh import refresh

    tmp = Path(tempfile.mkdtemp(prefix="imgpipeline-bench-nowork-"))
    where = {"raw_dir": str(tmp / "raw"), "processed_dir": str(tmp / "processed")}
    t0 = time.perf_counter()
    first = refresh(**where)
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = refresh(**where)
    t_none = time.perf_counter() - t0
    versions = sorted(p.name for p in (tmp / "processed" / "versions").iterdir())
    if second.get("unchanged_since") != first["version"] or versions != [first["version"]]:
        raise RuntimeError(f"the second refresh was not a no-work one: {second}, versions {versions}")
    return {
        "full_s": t_full,
        "no_work_s": t_none,
        "version": first["version"],
        "folder": str(tmp),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> None:
    what, *rest = argv
    version_dir = rest.pop(0) if rest else ""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if what == "latency":
        out = latency(version_dir, int(rest[0]))
    elif what == "core":
        out = batch_core(version_dir, int(rest[0]), duck=(rest[1:] or ["duck"])[0] == "duck")
        if out.get("duckdb_s"):
            out["core_over_duckdb"] = out["pairs_per_s_first"] / out["duckdb_pairs_per_s"]   # each run once
    elif what == "growth":
        from bench.growth import refresh_grown

        out = refresh_grown(int(version_dir))
    elif what == "nowork":
        out = no_work_refresh()
    elif what == "flow":
        out = batch_flow(version_dir, int(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
