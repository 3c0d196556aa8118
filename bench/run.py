"""acexport benchmarks: ``nox -s bench`` or ``python bench/run.py [--quick] [--only NAME ...]``.

Prints a Markdown table per benchmark, appends one JSON line per measurement to
``bench/results/results.jsonl`` and draws ``docs/performance.png``. Pipeline and memory sizes
each run in a fresh subprocess so that peak RSS figures do not mix. Compare ratios measured
within one run, not absolute times across runs or machines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BULK_PER_MINUTE,
    IMPORT_DELAY,
    LATENCY,
    PLOT,
    RPS,
    argv_python,
    machine,
    record,
    table,
)

BENCHES = ("profile", "pipeline", "e2e", "side", "real", "memory", "state", "errors")


def _child(kind: str, n: int, extra: str = "") -> dict[str, Any]:
    cmd = [*argv_python(), "--child", kind, str(n)] + ([extra] if extra else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_profile(run_id: str, quick: bool) -> None:
    n = 20_000 if quick else 100_000
    res = _child("profile", n)
    print(f"### cProfile of the Planner, {n:,} profiles (sorted by own time)\n")
    print(res["text"])
    record(run_id, "profile", n=n, top=res["top"])


def bench_pipeline(run_id: str, quick: bool) -> None:
    sizes = [(20_000, True), (50_000, False)] if quick else [(100_000, True), (1_000_000, False)]
    rows = []
    for n, prebuild in sizes:
        r = _child("pipeline", n, "prebuild" if prebuild else "stream")
        record(run_id, "pipeline", **r)
        rows.append(
            [
                f"{n:,}",
                "pre-built list"
                if prebuild
                else f"generated ({r['generation_cpu_s']:.1f} s CPU, subtracted)",
                r["planner_us_per_profile"],
                r["floor_us_per_profile"],
                f"{r['ratio']:.2f}x",
                r["floor_nodedupe_us_per_profile"],
                f"{r['ratio_vs_nodedupe_floor']:.2f}x",
                f"{r['rss_peak_planner_kb'] / 1024:.0f}",
                r["planner_batches"],
            ]
        )
    table(
        "Pipeline: Planner vs the standard-library floor (CPU µs per profile)",
        [
            "profiles",
            "input",
            "Planner µs",
            "floor µs (dict+dumps+set dedupe)",
            "ratio",
            "floor µs (no dedupe)",
            "ratio",
            "peak RSS MiB",
            "batches",
        ],
        rows,
    )


def bench_e2e(run_id: str, quick: bool) -> list[dict[str, Any]]:
    from _e2e import export_async, export_sync

    n = 5_000 if quick else 50_000
    out = []
    for fn in (export_sync, export_async):
        r = fn(n)
        out.append(r)
        record(
            run_id, "e2e", **{k: v for k, v in r.items() if k != "timeline"}, timeline=r["timeline"]
        )
    table(
        f"End to end: {n:,} profiles (10% duplicates), limits x20 ({RPS} req/s, "
        f"{BULK_PER_MINUTE} bulk/min), latency {LATENCY * 1000:.0f} ms, "
        f"import delay {IMPORT_DELAY} s",
        [
            "exporter",
            "batches",
            "wall s",
            "floor s",
            "wall/floor",
            "batches/min while submitting",
            "budget share",
            "requests",
            "refusals",
        ],
        [
            [
                r["exporter"],
                r["batches"],
                r["wall_s"],
                r["floor_s"],
                f"{r['wall_over_floor']:.2f}x",
                r["batches_per_min"],
                f"{r['budget_share']:.0%}",
                r["requests"],
                r["refusals"],
            ]
            for r in out
        ],
    )
    return out


def bench_side(run_id: str, quick: bool) -> dict[str, Any]:
    from _e2e import side_by_side

    n = 200 if quick else 2_000
    r = side_by_side(n, time_budget=20.0 if quick else 100.0)
    per, bulk = r["per_contact"], r["exporter"]
    speed = per["wall_s_for_n"] / bulk["wall_s"]
    fewer = per["requests_for_n"] / bulk["requests"]
    record(
        run_id,
        "side_by_side",
        n=n,
        per_contact=per,
        exporter=dict(bulk.items()),
        speedup=speed,
        request_ratio=fewer,
    )
    note = (
        "" if per["done"] == n else f" (stopped at {per['done']:,} by the time bound; extrapolated)"
    )
    table(
        f"Side by side: {n:,} unique profiles, same server and limits{note}",
        ["path", "wall s", "requests", "refusals", "contacts/s"],
        [
            [
                "per contact (contact/sync + contactLists)",
                per["wall_s_for_n"],
                round(per["requests_for_n"]),
                per["refusals"],
                n / per["wall_s_for_n"],
            ],
            [
                "SegmentExporter (bulk import)",
                bulk["wall_s"],
                bulk["requests"],
                bulk["refusals"],
                n / bulk["wall_s"],
            ],
            ["ratio", f"{speed:.1f}x faster", f"{fewer:.1f}x fewer", "", ""],
        ],
    )
    return r


def bench_real(run_id: str, quick: bool) -> None:
    from _e2e import side_by_side_real_limits

    n = 2_000 if quick else 10_000
    r = side_by_side_real_limits(n)
    per, bulk = r["per contact"], r["exporter"]
    speed = per["virtual_s"] / bulk["virtual_s"]
    fewer = per["requests"] / bulk["requests"]
    record(run_id, "side_by_side_real_limits", n=n, **r, speedup=speed, request_ratio=fewer)
    table(
        f"Side by side at ActiveCampaign's real limits (5 req/s, 100 bulk/min), "
        f"{n:,} unique profiles, virtual clock",
        ["path", "time (virtual)", "requests", "refusals", "contacts/s"],
        [
            [
                "per contact (contact/sync + contactLists)",
                f"{per['virtual_s']:,.0f} s",
                per["requests"],
                per["refusals"],
                n / per["virtual_s"],
            ],
            [
                "SegmentExporter (bulk import)",
                f"{bulk['virtual_s']:,.0f} s",
                bulk["requests"],
                bulk["refusals"],
                n / bulk["virtual_s"],
            ],
            ["ratio", f"{speed:.1f}x faster", f"{fewer:.1f}x fewer", "", ""],
        ],
    )


def bench_memory(run_id: str, quick: bool) -> None:
    sizes = [20_000, 60_000, 200_000] if quick else [100_000, 300_000, 1_000_000]
    res = [_child("memory", n) for n in sizes]
    a, b = res[0], res[-1]
    slope = (b["rss_peak_kb"] - a["rss_peak_kb"]) * 1024 / (b["unique"] - a["unique"])
    rows = []
    for r in res:
        record(run_id, "memory", **r, slope_bytes_per_unique=slope)
        rows.append(
            [
                r["n"],
                r["unique"],
                f"{r['rss_before_kb'] / 1024:.1f}",
                f"{r['rss_peak_kb'] / 1024:.1f}",
                f"{r['growth_kb'] / 1024:.1f}",
            ]
        )
    table(
        f"Memory: peak RSS against profiles planned (fresh process each); slope {slope:.0f} bytes "
        "per unique email",
        ["profiles", "unique emails", "RSS before MiB", "peak RSS MiB", "growth MiB"],
        rows,
    )


def bench_state(run_id: str, quick: bool) -> dict[str, Any]:
    import tempfile

    from _state import incremental_real_limits, loop_lag

    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "state.sqlite")
        cmd = [sys.executable, str(Path(__file__).resolve().parent / "_state.py"), "fill", path]
        subprocess.run([*cmd, str(n)], check=True, capture_output=True, timeout=1800)
        size = Path(path).stat().st_size
        plain = _child("state", n, "-")
        with_state = _child("state", n, path)
    ratio = with_state["cpu_s"] / plain["cpu_s"]
    record(run_id, "state_unchanged", n=n, plain=plain, state=with_state, cpu_ratio=ratio)
    table(
        f"Sync state: {n:,} profiles all unchanged, against the same dry run without a state "
        "(fresh process each)",
        ["run", "CPU s", "peak RSS MiB", "state file bytes/row"],
        [
            ["dry run, no state", plain["cpu_s"], f"{plain['rss_peak_kb'] / 1024:.0f}", ""],
            [
                "with the state (all unchanged)",
                with_state["cpu_s"],
                f"{with_state['rss_peak_kb'] / 1024:.0f}",
                f"{size / n:.1f}",
            ],
            ["ratio", f"{ratio:.2f}x", "", ""],
        ],
    )
    inc = incremental_real_limits(n)
    record(run_id, "state_incremental_real_limits", **inc)
    table(
        f"Sync state at ActiveCampaign's real limits (5 req/s, 100 bulk/min), {n:,} profiles "
        "with 1% changed, virtual clock",
        ["run", "time (virtual)", "bulk imports", "requests", "CPU/wall s"],
        [
            ["full send (every row)", f"{inc['full_send_s']:,.0f} s", -(-n // 250), "", ""],
            [
                f"incremental ({inc['changed']:,} changed, {inc['unchanged']:,} unchanged)",
                f"{inc['virtual_s']:,.1f} s",
                inc["bulk_requests"],
                inc["requests"],
                f"{inc['wall_s']:.1f}",
            ],
        ],
    )
    lags = [loop_lag(20_000 if quick else 50_000, with_state=w) for w in (False, True)]
    for lag in lags:
        record(run_id, "state_async_loop_lag", **lag)
    table(
        "Async exporter, 1% changed: how long its event loop was kept from a 1 ms ticker, "
        "without and with a state",
        ["export", "profiles", "ticks", "median ms", "p99 ms", "max ms"],
        [
            [
                "with a state" if lag["with_state"] else "no state (all sent)",
                lag["n"],
                lag["ticks"],
                lag["median_gap_ms"],
                lag["p99_gap_ms"],
                lag["max_gap_ms"],
            ]
            for lag in lags
        ],
    )
    return {"incremental": inc}


def bench_errors(run_id: str, quick: bool, before_src: str | None = None) -> None:
    from _errors import measure

    n = 200_000 if quick else 2_000_000
    sets = [("after", measure(n))]
    if before_src:
        sets.insert(0, ("before", measure(n, Path(before_src), with_errors=False)))
    rows = []
    for label, results in sets:
        for r in results:
            record(run_id, "errors", label=label, **r)
            rows.append(
                [
                    label,
                    r["run"],
                    f"{r['n']:,}",
                    f"{r['vmhwm_kb'] / 1024:.0f}",
                    r["wall_s"],
                    f"{r.get('report_bytes', r.get('errors_bytes', 0)) / 1e6:.1f}",
                ]
            )
    table(
        f"Row errors at scale: {n:,} rows, half of them invalid (peak RSS, fresh process each)",
        ["code", "run", "rows", "peak RSS MiB", "wall s", "file written MB"],
        rows,
    )


def plot(e2e: list[dict[str, Any]] | None, side: dict[str, Any] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    if e2e:
        ax = axes[0]
        horizon = 0.0
        for r in e2e:
            tl = r["timeline"]
            pairs = sorted(zip(tl["finished"], tl["contacts"], strict=False))
            xs, ys, total = [0.0], [0], 0
            for t, c in pairs:
                total += c
                xs.append(t)
                ys.append(total)
            ax.step(xs, ys, where="post", label=f"{r['exporter']} (landed)")
            horizon = max(horizon, xs[-1])
        limit = 250 * BULK_PER_MINUTE / 60
        ax.plot(
            [0, horizon],
            [0, limit * horizon],
            "k--",
            label=f"API limit: 250 x {BULK_PER_MINUTE}/min",
        )
        ax.set_title(f"Exporters, {e2e[0]['n']:,} profiles")
        ax.set_xlabel("seconds")
        ax.set_ylabel("contacts landed")
        ax.legend(fontsize=8)
    if side:
        ax = axes[1]
        per, bulk = side["per_contact"], side["exporter"]
        ys = list(range(1, len(per["landed"]) + 1))
        ax.plot([0.0, *per["landed"]], [0, *ys], label="per contact (2 requests each)")
        tl = bulk["timeline"]
        pairs = sorted(zip(tl["finished"], tl["contacts"], strict=False))
        xs, yb, total = [0.0], [0], 0
        for t, c in pairs:
            total += c
            xs.append(t)
            yb.append(total)
        ax.step(xs, yb, where="post", label="SegmentExporter (bulk)")
        horizon = max(per["landed"][-1] if per["landed"] else 0, xs[-1])
        ax.plot([0, horizon], [0, RPS / 2 * horizon], "k:", label=f"per-contact limit: {RPS}/s / 2")
        ax.set_ylim(0, per["n"] * 1.05)
        ax.set_title(f"Side by side, {per['n']:,} profiles")
        ax.set_xlabel("seconds")
        ax.set_ylabel("contacts landed")
        ax.legend(fontsize=8)
    fig.suptitle(
        "acexport on the loopback fake, ActiveCampaign limits x20 "
        f"({RPS} req/s, {BULK_PER_MINUTE} bulk/min)"
    )
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    print(f"plot: {PLOT}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    ap.add_argument("--only", nargs="+", choices=BENCHES, help="run only these benchmarks")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument(
        "--before-src",
        metavar="DIR",
        help="errors: also measure another checkout's src directory (the 'before' figures)",
    )
    args = ap.parse_args()
    if args.child:
        from _pipeline import child_memory, child_pipeline, child_profile

        kind, n = args.child[0], int(args.child[1])
        if kind == "state":
            from _state import child_unchanged

            res = child_unchanged(n, args.child[2])
        elif kind == "pipeline":
            res = child_pipeline(n, prebuild=args.child[2] == "prebuild")
        elif kind == "memory":
            res = child_memory(n)
        else:
            res = child_profile(n)
        print(json.dumps(res))
        return

    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    m = machine()
    print(
        f"run {run_id}: Python {m['python']} on {m['platform']}, {m['cpu_count']} CPUs"
        f"{' (quick)' if args.quick else ''}\n",
        flush=True,
    )
    chosen = args.only or BENCHES
    started = time.monotonic()
    e2e = side = None
    if "profile" in chosen:
        bench_profile(run_id, args.quick)
    if "pipeline" in chosen:
        bench_pipeline(run_id, args.quick)
    if "memory" in chosen:
        bench_memory(run_id, args.quick)
    if "e2e" in chosen:
        e2e = bench_e2e(run_id, args.quick)
    if "side" in chosen:
        side = bench_side(run_id, args.quick)
    if "real" in chosen:
        bench_real(run_id, args.quick)
    if "state" in chosen:
        bench_state(run_id, args.quick)
    if "errors" in chosen:
        bench_errors(run_id, args.quick, args.before_src)
    if e2e or side:
        plot(e2e, side)
    print(
        f"done in {time.monotonic() - started:.0f} s; "
        "results appended to bench/results/results.jsonl"
    )


if __name__ == "__main__":
    main()
