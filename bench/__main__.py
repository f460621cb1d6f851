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

from imgpipeline.settings import apply_run_environment, usable_cpus

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
        "nproc": usable_cpus(),
        "memory_gb": round(mem_gb, 1) if mem_gb else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def version_with_features(processed_dir: Path | None) -> tuple[Path, str]:
    """The current version if it has program features, else a fresh refresh into a temp dir."""
    from imgpipeline.settings import get_settings
    from imgpipeline.store import NotPublished, resolve_version

    settings = get_settings(processed_dir=processed_dir)
    try:
        folder = resolve_version(settings)
        if (folder / "program_openness.parquet").exists():
            return folder, f"the current published version {folder}"
        why = f"the current version {folder.name} has no program_openness (it predates the interview model)"
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
    # The console script's own folder comes first on sys.path, then the editable install's
    # finder (which names the checkout the venv was set up from): this checkout's package
    # first, so a worktree sharing the venv measures its own code.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    times = []
    with tempfile.TemporaryDirectory(prefix="imgpipeline-bench-") as tmp:
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [exe, "recommend", str(EXAMPLE), "--version-dir", str(version_dir), "--out", str(Path(tmp) / "out")],
                check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env,
            )
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeats}


NO_WORK_GOAL_S = 3.0
GROWTH_GOAL = 1.0  # cost per 1x at kx over cost at 1x: no worse than linear


def growth_ratios(one: dict[str, Any], big: dict[str, Any]) -> dict[str, float]:
    """Cost per 1x of the big universe over the cost of the real one (1.0: linear)."""
    k = big["factor"] / one["factor"]
    inc_one = max(one["peak_rss_mb"] - one["rss_before_mb"], 1.0)
    return {
        "time": big["wall_s"] / k / one["wall_s"],
        "cpu": big["cpu_s"] / k / one["cpu_s"],
        "peak_rss": big["peak_rss_mb"] / k / one["peak_rss_mb"],
        "rss_increase": (big["peak_rss_mb"] - big["rss_before_mb"]) / k / inc_one,
    }


def growth_lines(one: dict[str, Any], big: dict[str, Any]) -> list[str]:
    r = growth_ratios(one, big)
    rows = [
        "| universe | programs | rows published | stage FREIDA | validate staged | build | validate published | publish | total | total per 1x | CPU per 1x | peak RSS | RSS increase over the staged inputs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in (one, big):
        rows.append(
            f"| {g['factor']}x | {g['programs']:,} | {g['rows_published']:,} | {g['stage_freida_s']:.1f} s | {g['validate_staged_s']:.1f} s | "
            f"{g['build_s']:.1f} s | {g['validate_published_s']:.1f} s | {g['publish_s']:.1f} s | {g['wall_s']:.1f} s | "
            f"{g['wall_s'] / g['factor']:.1f} s | {g['cpu_s'] / g['factor']:.1f} s | {g['peak_rss_mb']:,.0f} MB | {g['peak_rss_mb'] - g['rss_before_mb']:,.0f} MB |"
        )
    rows += [
        "",
        f"Cost per 1x at {big['factor']}x over the cost at 1x (goal: at most {GROWTH_GOAL:.1f}, i.e. no worse than linear): "
        f"wall time {r['time']:.2f}, CPU time {r['cpu']:.2f}, peak RSS {r['peak_rss']:.2f}, RSS increase {r['rss_increase']:.2f}.",
    ]
    return rows


def import_baseline(repeats: int) -> dict[str, float]:
    """Wall time of a bare `python -c "import pandas, pyarrow"` (the CLI's yardstick)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pandas, pyarrow"], check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeats}


def sizes(text: str) -> list[int]:
    """A comma-separated list of profile counts; 0 and empty items ask for nothing."""
    return [n for n in (int(x) for x in text.split(",") if x.strip()) if n > 0]


# The goals (issue 12): figures are printed beside them; nothing asserts them.
GOAL_RECOMMEND_MS = 10.0
GOAL_CLI_OVER_IMPORT = 2.0
GOAL_CORE_PAIRS_PER_S = 20e6
GOAL_FLOW_RSS_MB = 2048.0
GOAL_FLOW_OVER_CORE = 3.0


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def goals(lat: dict[str, Any], cli: dict[str, float], base: dict[str, float], core: list[dict[str, Any]], flows: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(figure, value, goal, met?) rows."""
    rows = []
    for name, p in lat["profiles"].items():
        ms = p["median_s"] * 1000
        rows.append((f"`recommend()` warm median, {name}", f"{ms:.1f} ms", f"< {GOAL_RECOMMEND_MS:g} ms", verdict(ms < GOAL_RECOMMEND_MS)))
    ratio = cli["median_s"] / base["median_s"]
    rows.append(("`imgpipeline recommend` CLI / bare `import pandas, pyarrow`", f"{cli['median_s']:.2f} s / {base['median_s']:.2f} s = {ratio:.2f}x", f"< {GOAL_CLI_OVER_IMPORT:g}x", verdict(ratio < GOAL_CLI_OVER_IMPORT)))
    by_n = {c["profiles"]: c for c in core}
    for c in core:
        if c["profiles"] < 10_000:
            continue
        r = c["pairs_per_s_score"]
        cpu = f" ({c['pairs'] / c['score_cpu_s'] / 1e6:.1f} M per CPU-second)" if c.get("score_cpu_s") else ""
        first = f"; the process's first batch {c['pairs_per_s_first'] / 1e6:.1f} M" if c.get("pairs_per_s_first") else ""
        rows.append((f"batch core, {c['profiles']:,} profiles (median of the batches after the first)", f"{r / 1e6:.1f} M pairs/s{cpu}{first}", f">= {GOAL_CORE_PAIRS_PER_S / 1e6:g} M pairs/s", verdict(r >= GOAL_CORE_PAIRS_PER_S)))
        if c.get("duckdb_pairs_per_s"):
            d = c["duckdb_pairs_per_s"]
            r = c.get("pairs_per_s_first", r)   # DuckDB runs once: against the core's first batch
            same = c["duckdb_same_lists"] and c["duckdb_max_abs_diff_pairs"] <= 1e-9 and c["duckdb_max_abs_diff_listed"] <= 1e-9
            rows.append((f"core (first batch) / DuckDB ({c['duckdb_threads']} threads), {c['profiles']:,} profiles", f"{r / 1e6:.1f} / {d / 1e6:.1f} M pairs/s = {r / d:.2f}x", "> 1x, same P (1e-9) and lists", verdict(r > d and same)))
    for f in flows:
        if f["runner"] != "default" or f["profiles"] < 100_000:
            continue
        rows.append((f"batch flow peak RSS, {f['profiles']:,} profiles", f"{f['peak_rss_mb']:,.0f} MB", f"< {GOAL_FLOW_RSS_MB:,.0f} MB", verdict(f["peak_rss_mb"] < GOAL_FLOW_RSS_MB)))
        c = by_n.get(f["profiles"])
        if c:
            core_s = c["read_validate_s"] + c.get("score_first_s", c["score_s"])   # one-off runs, both
            ratio = f["wall_s"] / core_s
            rows.append((f"batch flow wall / core (read + score), {f['profiles']:,} profiles", f"{f['wall_s']:.1f} s / {core_s:.1f} s = {ratio:.2f}x", f"< {GOAL_FLOW_OVER_CORE:g}x", verdict(ratio < GOAL_FLOW_OVER_CORE)))
    return rows


def markdown(m: dict[str, Any], source: str, lat: dict[str, Any], cli: dict[str, float], base: dict[str, float], core: list[dict[str, Any]], flows: list[dict[str, Any]], nowork: dict[str, Any] | None = None, growth: list[dict[str, Any]] | None = None) -> str:
    lines = [
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB memory, Python {m['python']}, "
        f"{m['platform']}, commit `{m['commit']}`; load average at the start {', '.join(f'{x:.2f}' for x in m['load_average'] or ())}. "
        f"Published data: {source}.",
        "",
        "### Goals",
        "",
        "| figure | measured | goal | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in goals(lat, cli, base, core, flows)],
        "",
        "### Single profile (`recommend`)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| import `imgpipeline.advice.recommend` | {lat['import_s']:.2f} s |",
        f"| read and prepare the version (once per process) | {lat['load_version_s']:.2f} s |",
    ]
    for name, p in lat["profiles"].items():
        lines.append(
            f"| `recommend` {name} ({p['listed']} listed), warm: median / p95 / min | "
            f"{p['median_s'] * 1000:.1f} / {p['p95_s'] * 1000:.1f} / {p['min_s'] * 1000:.1f} ms |"
        )
        lines.append(f"| tracemalloc peak of one call, {name} | {p['tracemalloc_peak_mb']:.1f} MB |")
    lines += [
        f"| peak RSS of that process | {lat['peak_rss_mb']:.0f} MB |",
        f"| `imgpipeline recommend` CLI wall time, median / min / max of {cli['runs']} | {cli['median_s']:.2f} / {cli['min_s']:.2f} / {cli['max_s']:.2f} s |",
        f"| bare `python -c \"import pandas, pyarrow\"`, median / min / max of {base['runs']} | {base['median_s']:.2f} / {base['min_s']:.2f} / {base['max_s']:.2f} s |",
        "",
        "### Batch scoring, in process (`read_profiles` + `score_profiles`; no Prefect, GX or writing), and DuckDB",
        "",
        "| profiles | pairs | rows out | read + validate | score (CPU): median of the batches after the first; the first | pairs/s (score) | pairs/s (read + score) | peak RSS | DuckDB (CPU) | DuckDB pairs/s | core / DuckDB | same lists | max abs diff P (listed / all pairs of 500 applicants) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in core:
        duck = (
            f"{c['duckdb_s']:.2f} s ({c['duckdb_cpu_s']:.2f} s) | {c['duckdb_pairs_per_s']:,.0f} | {c['core_over_duckdb']:.2f}x | {c['duckdb_same_lists']} | "
            f"{c['duckdb_max_abs_diff_listed']:.1e} / {c['duckdb_max_abs_diff_pairs']:.1e}"
            if c.get("duckdb_s") else "- | - | - | - | -"
        )
        lines.append(
            f"| {c['profiles']:,} | {c['pairs']:,} | {c['rows_out']:,} | {c['read_validate_s']:.2f} s | {c['score_s']:.2f} s ({c['score_cpu_s']:.2f} s); {c.get('score_first_s', c['score_s']):.2f} s ({c.get('score_first_cpu_s', c['score_cpu_s']):.2f} s) | "
            f"{c['pairs_per_s_score']:,.0f} | {c['pairs_per_s_read_and_score']:,.0f} | {c['peak_rss_mb']:,.0f} MB | {duck} |"
        )
    lines += [
        "",
        "### Batch flow, end to end (`run_batch`: Prefect, read, score, per-chunk declared checks, streamed Parquet, publish)",
        "",
        "| profiles | runner | pairs | rows out | wall (CPU) | pairs/s | peak RSS (flow process) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in flows:
        lines.append(
            f"| {f['profiles']:,} | {f['runner']} | {f['pairs']:,} | {f['rows_out']:,} | {f['wall_s']:.1f} s ({f['cpu_s']:.1f} s) | {f['pairs_per_s']:,.0f} | {f['peak_rss_mb']:,.0f} MB |"
        )
    if nowork:
        lines += [
            "",
            "### No-work refresh (the refresh flow again on unchanged snapshots, rulebook and code)",
            "",
            "| measure | value | goal |",
            "|---|---|---|",
            f"| full refresh, first in the process (includes starting Prefect's temporary server) | {nowork['full_s']:.1f} s | |",
            f"| no-work refresh after it, same process (server already up): nothing published | {nowork['no_work_s']:.2f} s | under {NO_WORK_GOAL_S:.0f} s |",
        ]
    if growth and len(growth) == 2:
        lines += ["", f"### Growth: the refresh's build of a {growth[1]['factor']}x program universe", ""]
        lines += growth_lines(growth[0], growth[1])
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--processed-dir", type=Path, default=None)
    ap.add_argument("--sizes", default="1000,10000,100000", help="profiles per batch measurement (0 or empty: none)")
    ap.add_argument("--duckdb-sizes", default="10000,100000", help="batch sizes also run as DuckDB SQL")
    ap.add_argument("--flow-sizes", default="1000,10000,100000", help="profiles per end-to-end flow run (0 or empty: none)")
    ap.add_argument("--dask-size", type=int, default=10000, help="profiles for one flow run on a local Dask cluster (0: skip)")
    ap.add_argument("--repeats", type=int, default=30, help="warm recommend() calls per profile")
    ap.add_argument("--cli-repeats", type=int, default=5)
    ap.add_argument("--growth", type=int, default=10, help="size of the synthetic program universe, times the real one (0: skip)")
    ap.add_argument("--no-work", action=argparse.BooleanOptionalAction, default=True, help="measure a no-work refresh (a full one first)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the results block here")
    args = ap.parse_args()
    if args.cli_repeats < 1 or args.repeats < 1:
        ap.error("--repeats and --cli-repeats must be at least 1 (the single-profile and CLI figures are goals)")
    os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect" / "bench"))
    # A loaded machine starts the embedded server slowly (the CLI allows as long).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")
    apply_run_environment()  # the project's other defaults (pyproject.toml)

    m = machine()
    print(f"machine: {m}", flush=True)
    version, source = version_with_features(args.processed_dir)
    print(f"published data: {source}", flush=True)

    lat = measure("latency", str(version), str(args.repeats))
    for name, p in lat["profiles"].items():
        print(f"recommend {name}: median {p['median_s'] * 1000:.1f} ms (goal < {GOAL_RECOMMEND_MS:g} ms), p95 {p['p95_s'] * 1000:.1f} ms ({p['listed']} listed)", flush=True)
    print(f"  import {lat['import_s']:.2f} s, first read of the version {lat['load_version_s']:.2f} s, peak RSS {lat['peak_rss_mb']:.0f} MB", flush=True)
    base = import_baseline(args.cli_repeats)
    cli = cli_wall(version, args.cli_repeats)
    print(
        f"imgpipeline recommend (CLI): median {cli['median_s']:.2f} s over {cli['runs']} runs; bare import pandas, pyarrow "
        f"{base['median_s']:.2f} s: {cli['median_s'] / base['median_s']:.2f}x (goal < {GOAL_CLI_OVER_IMPORT:g}x)",
        flush=True,
    )

    core = []
    duck_sizes = {int(x) for x in args.duckdb_sizes.split(",") if x}
    for n in sizes(args.sizes):
        c = measure("core", str(version), str(n), "duck" if n in duck_sizes else "noduck")
        core.append(c)
        print(
            f"batch core {n:>7,}: read {c['read_validate_s']:.2f} s, score {c['score_s']:.2f} s (CPU {c['score_cpu_s']:.2f} s: {c['pairs'] / c['score_cpu_s'] / 1e6:.1f} M pairs per CPU-second), "
            f"{c['pairs_per_s_score'] / 1e6:.1f} M pairs/s scoring, the median of {len(c['score_runs_s'])} batches after the first (goal >= {GOAL_CORE_PAIRS_PER_S / 1e6:g} M); "
            f"the process's first batch {c['score_first_s']:.2f} s (CPU {c['score_first_cpu_s']:.2f} s): {c['pairs_per_s_first'] / 1e6:.1f} M pairs/s, {c['pairs_per_s_read_and_score'] / 1e6:.1f} M with reading; "
            f"{c['rows_out']:,} rows, peak RSS {c['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        if c.get("duckdb_s"):
            print(
                f"  DuckDB ({c['duckdb_threads']} threads): {c['duckdb_pairs_per_s'] / 1e6:.1f} M pairs/s (CPU {c['duckdb_cpu_s']:.2f} s); core / DuckDB {c['core_over_duckdb']:.2f}x (goal > 1x); "
                f"same lists {c['duckdb_same_lists']}, max |dP| listed {c['duckdb_max_abs_diff_listed']:.1e}, all pairs of 500 applicants {c['duckdb_max_abs_diff_pairs']:.1e} (goal <= 1e-9)",
                flush=True,
            )
    flows = []
    runs = [(n, "default") for n in sizes(args.flow_sizes)]
    if args.dask_size:
        runs.append((args.dask_size, "dask"))
    for n, runner in runs:
        f = measure("flow", str(version), str(n), runner)
        flows.append(f)
        print(f"batch flow {n:>7,} ({runner}): {f['wall_s']:.1f} s (CPU of the flow process {f['cpu_s']:.1f} s), {f['pairs_per_s'] / 1e6:.2f} M pairs/s, {f['rows_out']:,} rows, peak RSS {f['peak_rss_mb']:,.0f} MB (goal < {GOAL_FLOW_RSS_MB:,.0f} MB at 100k)", flush=True)

    nowork = None
    if args.no_work:
        nowork = measure("nowork")
        print(
            f"refresh: full {nowork['full_s']:.1f} s (with Prefect's server start), then no-work "
            f"{nowork['no_work_s']:.2f} s (goal under {NO_WORK_GOAL_S:.0f} s), nothing published",
            flush=True,
        )
    growth = []
    if args.growth:
        for k in (1, args.growth):
            g = measure("growth", str(k))
            growth.append(g)
            print(
                f"growth {k:>2}x ({g['programs']:,} programs): {g['wall_s']:.1f} s ({g['wall_s'] / k:.1f} s per 1x; CPU {g['cpu_s'] / k:.1f} s per 1x), "
                f"peak RSS {g['peak_rss_mb']:,.0f} MB (+{g['peak_rss_mb'] - g['rss_before_mb']:,.0f} MB over the staged inputs)",
                flush=True,
            )
        r = growth_ratios(growth[0], growth[1])
        print(
            f"growth cost per 1x at {args.growth}x / at 1x: wall time {r['time']:.2f}, CPU time {r['cpu']:.2f}, peak RSS {r['peak_rss']:.2f}, "
            f"RSS increase {r['rss_increase']:.2f} (goal <= {GROWTH_GOAL:.1f}: no worse than linear)",
            flush=True,
        )
    print("\ngoals:")
    for a, b, c, d in goals(lat, cli, base, core, flows):
        print(f"  {a}: {b} (goal {c}): {d}")
    text = markdown(m, source, lat, cli, base, core, flows, nowork, growth)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
        print(f"\nwrote {args.markdown}")


if __name__ == "__main__":
    main()
