"""One measurement per process: ``python -m bench.workers WHAT VERSION_DIR [ARGS]`` prints one
JSON line of figures (seconds, pairs per second, peak RSS of this process)."""

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
    from imgpipeline.advice.published import load_published
    from imgpipeline.advice.recommend import recommend
    from imgpipeline.applicant import load_profile

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = load_published(Path(version_dir))
    t_load = time.perf_counter() - t0
    out: dict[str, Any] = {"import_s": t_import, "load_version_s": t_load, "profiles": {}}
    for name in ("moderately_low_j1", "very_high_h1b"):
        profile = load_profile(EXAMPLES / f"{name}.yaml")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            rec = recommend(profile, data)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        recommend(profile, data)
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


def batch_core(version_dir: str, n: int) -> dict[str, Any]:
    """read_profiles + score_profiles (no Prefect, no GX, no writing) for n random profiles."""
    from imgpipeline import batch as bt
    from imgpipeline.advice.published import load_published

    data = load_published(Path(version_dir))
    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        path = bt.write_input(bt.random_profiles(n, seed=2026), Path(tmp) / "profiles.parquet")
        t0 = time.perf_counter()
        profiles = bt.read_profiles(path)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        apps, recs = bt.score_profiles(profiles, data, chunk_size=5000)
        t_score = time.perf_counter() - t0
    pairs = n * data.n
    return {
        "profiles": n,
        "programs": data.n,
        "pairs": pairs,
        "rows_out": len(recs),
        "read_validate_s": t_read,
        "score_s": t_score,
        "pairs_per_s_score": pairs / t_score,
        "pairs_per_s_read_and_score": pairs / (t_read + t_score),
        "peak_rss_mb": peak_rss_mb(),
    }


def batch_flow(version_dir: str, n: int, runner: str) -> dict[str, Any]:
    """The whole Prefect flow (read, validate, score, GX, publish) for n random profiles."""
    from imgpipeline import batch as bt

    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        path = bt.write_input(bt.random_profiles(n, seed=2026), Path(tmp) / "profiles.parquet")
        from flows.batch import run_batch

        t0 = time.perf_counter()
        result = run_batch(str(path), processed_dir=str(Path(tmp) / "processed"), version_dir=version_dir, runner=runner, dask_workers=2)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
    pairs = n * result["programs"]
    return {
        "profiles": n,
        "runner": runner,
        "pairs": pairs,
        "rows_out": result["tables"]["batch_recommendations"],
        "wall_s": wall,
        "pairs_per_s": pairs / wall,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> None:
    what, version_dir, *rest = argv
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if what == "latency":
        out = latency(version_dir, int(rest[0]))
    elif what == "core":
        out = batch_core(version_dir, int(rest[0]))
    elif what == "flow":
        out = batch_flow(version_dir, int(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
