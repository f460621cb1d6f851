"""``python -m bench``: measure and print; ``--markdown FILE`` also writes the results block
that docs/benchmarks.md records.

Needs a published version with program features: the current one under ``--processed-dir``
(default: the project's), else it runs a refresh into a temporary folder first and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "docs" / "examples" / "moderately_low_j1.yaml"


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 2**20
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(mem_gb, 1) if mem_gb else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def version_with_features(processed_dir: Path | None) -> tuple[Path, str]:
    """The current version if it has program features, else a fresh refresh into a temp dir."""
    from imgpipeline.advice.published import NotPublished, resolve_version
    from imgpipeline.settings import get_settings

    settings = get_settings(processed_dir=processed_dir)
    try:
        folder = resolve_version(settings)
        if (folder / "program_features.parquet").exists():
            return folder, f"the current published version {folder}"
        why = f"the current version {folder.name} has no program_features"
    except NotPublished:
        why = f"nothing is published under {settings.processed_dir}"
    tmp = Path(tempfile.mkdtemp(prefix="imgpipeline-bench-refresh-"))
    print(f"{why}: running a refresh into {tmp} first (imgpipeline refresh)...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "imgpipeline"), "refresh", "--raw-dir", str(tmp / "raw"), "--processed-dir", str(tmp / "processed")],
        capture_output=True, text=True, cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the refresh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    folder = (tmp / "processed" / "current").resolve()
    return folder, f"a refresh run by the bench into {tmp} ({time.perf_counter() - t0:.0f} s), because {why}"


def measure(*args: str) -> dict[str, Any]:
    """One measurement in a fresh process (its own peak memory)."""
    proc = subprocess.run([sys.executable, "-m", "bench.workers", *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.workers {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_wall(version_dir: Path, repeats: int) -> dict[str, float]:
    """Wall time of the whole `imgpipeline recommend` command (interpreter start, imports,
    reading the version, scoring, printing, writing the files)."""
    exe = shutil.which("imgpipeline", path=str(BIN)) or "imgpipeline"
    times = []
    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [exe, "recommend", str(EXAMPLE), "--version-dir", str(version_dir), "--out", str(Path(tmp) / "out")],
                check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
            )
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeats}


def markdown(m: dict[str, Any], source: str, lat: dict[str, Any], cli: dict[str, float], core: list[dict[str, Any]], flows: list[dict[str, Any]]) -> str:
    lines = [
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB memory, Python {m['python']}, "
        f"{m['platform']}, commit `{m['commit']}`; load average at the start {', '.join(f'{x:.2f}' for x in m['load_average'] or ())}. "
        f"Published data: {source}.",
        "",
        "### Single profile (`recommend`)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| import `imgpipeline.recommend` | {lat['import_s']:.2f} s |",
        f"| read and prepare the version (once per process) | {lat['load_version_s']:.2f} s |",
    ]
    for name, p in lat["profiles"].items():
        lines.append(
            f"| `recommend` {name} ({p['listed']} listed), warm: median / p95 / min | "
            f"{p['median_s'] * 1000:.0f} / {p['p95_s'] * 1000:.0f} / {p['min_s'] * 1000:.0f} ms |"
        )
        lines.append(f"| tracemalloc peak of one call, {name} | {p['tracemalloc_peak_mb']:.1f} MB |")
    lines += [
        f"| peak RSS of that process | {lat['peak_rss_mb']:.0f} MB |",
        f"| `imgpipeline recommend` CLI wall time, median / min / max of {cli['runs']} | {cli['median_s']:.2f} / {cli['min_s']:.2f} / {cli['max_s']:.2f} s |",
        "",
        "### Batch scoring, in process (`read_profiles` + `score_profiles`; no Prefect, GX or writing)",
        "",
        "| profiles | pairs | rows out | read + validate | score | pairs/s (score) | pairs/s (read + score) | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in core:
        lines.append(
            f"| {c['profiles']:,} | {c['pairs']:,} | {c['rows_out']:,} | {c['read_validate_s']:.2f} s | {c['score_s']:.2f} s | "
            f"{c['pairs_per_s_score']:,.0f} | {c['pairs_per_s_read_and_score']:,.0f} | {c['peak_rss_mb']:,.0f} MB |"
        )
    lines += [
        "",
        "### Batch flow, end to end (`run_batch`: Prefect, read, validate, score, GX suites, publish)",
        "",
        "| profiles | runner | pairs | rows out | wall | pairs/s | peak RSS (flow process) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in flows:
        lines.append(
            f"| {f['profiles']:,} | {f['runner']} | {f['pairs']:,} | {f['rows_out']:,} | {f['wall_s']:.1f} s | {f['pairs_per_s']:,.0f} | {f['peak_rss_mb']:,.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--processed-dir", type=Path, default=None)
    ap.add_argument("--sizes", default="1000,10000,100000", help="profiles per batch measurement")
    ap.add_argument("--flow-sizes", default="1000,10000,100000", help="profiles per end-to-end flow run")
    ap.add_argument("--dask-size", type=int, default=10000, help="profiles for one flow run on a local Dask cluster (0: skip)")
    ap.add_argument("--repeats", type=int, default=30, help="warm recommend() calls per profile")
    ap.add_argument("--cli-repeats", type=int, default=5)
    ap.add_argument("--markdown", type=Path, default=None, help="also write the results block here")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect" / "bench"))

    m = machine()
    print(f"machine: {m}", flush=True)
    version, source = version_with_features(args.processed_dir)
    print(f"published data: {source}", flush=True)

    lat = measure("latency", str(version), str(args.repeats))
    for name, p in lat["profiles"].items():
        print(f"recommend {name}: median {p['median_s'] * 1000:.0f} ms, p95 {p['p95_s'] * 1000:.0f} ms ({p['listed']} listed)", flush=True)
    print(f"  import {lat['import_s']:.2f} s, first read of the version {lat['load_version_s']:.2f} s, peak RSS {lat['peak_rss_mb']:.0f} MB", flush=True)
    cli = cli_wall(version, args.cli_repeats)
    print(f"imgpipeline recommend (CLI): median {cli['median_s']:.2f} s over {cli['runs']} runs", flush=True)

    core = []
    for n in (int(x) for x in args.sizes.split(",") if x):
        c = measure("core", str(version), str(n))
        core.append(c)
        print(
            f"batch core {n:>7,}: read {c['read_validate_s']:.2f} s, score {c['score_s']:.2f} s, "
            f"{c['pairs_per_s_score']:,.0f} pairs/s scoring ({c['pairs_per_s_read_and_score']:,.0f} with reading), "
            f"{c['rows_out']:,} rows, peak RSS {c['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
    flows = []
    runs = [(int(x), "default") for x in args.flow_sizes.split(",") if x]
    if args.dask_size:
        runs.append((args.dask_size, "dask"))
    for n, runner in runs:
        f = measure("flow", str(version), str(n), runner)
        flows.append(f)
        print(f"batch flow {n:>7,} ({runner}): {f['wall_s']:.1f} s, {f['pairs_per_s']:,.0f} pairs/s, {f['rows_out']:,} rows, peak RSS {f['peak_rss_mb']:,.0f} MB", flush=True)

    text = markdown(m, source, lat, cli, core, flows)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
        print(f"\nwrote {args.markdown}")


if __name__ == "__main__":
    main()
