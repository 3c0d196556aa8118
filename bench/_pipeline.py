"""Pipeline and memory benchmarks; each size runs in a fresh subprocess (``run.py --child``)."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import resource
import time
from collections.abc import Iterable
from typing import Any

from _common import BATCH, mapping_and_ids, profiles


def _rss_kb() -> int:
    """Peak RSS of this process in KiB.

    ``ru_maxrss`` survives ``exec``: a child started by a big parent inherits the parent's peak
    at fork time. ``VmHWM`` (Linux) is the new process's own high-water mark, so it is used when
    present; ``ru_maxrss`` otherwise.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def run_planner(rows: Iterable[dict[str, object]]) -> dict[str, int]:
    from acexport._exporter._pipeline import Planner

    mapping, ids = mapping_and_ids()
    planner = Planner(mapping, ids, list_id=1)
    feed = planner.feed
    nbytes = batches = 0
    for i, p in enumerate(rows):
        b = feed(i, p)
        if b is not None:
            nbytes += len(b.body())
            batches += 1
    b = planner.close()
    if b is not None:
        nbytes += len(b.body())
        batches += 1
    return {
        "batches": batches,
        "bytes": nbytes,
        "unique": planner.unique,
        "duplicates": planner.duplicates,
        "invalid": planner.invalid,
    }


def run_floor(rows: Iterable[dict[str, Any]], dedupe: bool = True) -> dict[str, int]:
    """The standard library alone: build the bulk payload dicts, json.dumps them per 250."""
    dumps = json.dumps
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    nbytes = batches = 0
    for p in rows:
        email = p["Email"].strip()
        if dedupe:
            key = email.lower()
            if key in seen:
                continue
            seen.add(key)
        batch.append(
            {
                "email": email,
                "first_name": p["FirstName"],
                "last_name": p["LastName"],
                "phone": p["Phone"],
                "fields": [{"id": 1, "value": p["Tier"]}],
                "tags": ["bench"],
                "subscribe": [{"listid": 1}],
            }
        )
        if len(batch) == BATCH:
            nbytes += len(
                dumps({"contacts": batch}, separators=(",", ":"), ensure_ascii=False).encode()
            )
            batches += 1
            batch = []
    if batch:
        nbytes += len(
            dumps({"contacts": batch}, separators=(",", ":"), ensure_ascii=False).encode()
        )
        batches += 1
    return {"batches": batches, "bytes": nbytes}


def _timed(fn: Any, *args: Any, **kw: Any) -> tuple[float, Any]:
    t = time.process_time()
    out = fn(*args, **kw)
    return time.process_time() - t, out


def _consume(rows: Iterable[Any]) -> int:
    n = 0
    for _ in rows:
        n += 1
    return n


def child_pipeline(n: int, prebuild: bool) -> dict[str, Any]:
    import acexport._exporter._pipeline  # noqa: F401  (imports before the RSS baseline)

    rss_imports = _rss_kb()
    gen_s = 0.0
    if prebuild:
        rows: list[dict[str, object]] | None = list(profiles(n))
    else:
        rows = None
        gen_s, _ = _timed(_consume, profiles(n))  # generation alone, subtracted below
    rss_before = _rss_kb()
    src = (lambda: rows) if rows is not None else (lambda: profiles(n))
    planner_s, planned = _timed(run_planner, src())
    rss_planner = _rss_kb()
    floor_s, floor = _timed(run_floor, src())
    floor_nd_s, _ = _timed(run_floor, src(), dedupe=False)
    planner_s -= gen_s
    floor_s -= gen_s
    floor_nd_s -= gen_s
    return {
        "n": n,
        "prebuilt": prebuild,
        "generation_cpu_s": gen_s,
        "planner_cpu_s": planner_s,
        "floor_cpu_s": floor_s,
        "floor_nodedupe_cpu_s": floor_nd_s,
        "planner_us_per_profile": planner_s / n * 1e6,
        "floor_us_per_profile": floor_s / n * 1e6,
        "floor_nodedupe_us_per_profile": floor_nd_s / n * 1e6,
        "ratio": planner_s / floor_s,
        "ratio_vs_nodedupe_floor": planner_s / floor_nd_s,
        "rss_after_imports_kb": rss_imports,
        "rss_before_kb": rss_before,
        "rss_peak_planner_kb": rss_planner,
        "planner_bytes": planned["bytes"],
        "floor_bytes": floor["bytes"],
        **{f"planner_{k}": v for k, v in planned.items() if k != "bytes"},
    }


def child_memory(n: int) -> dict[str, Any]:
    import acexport._exporter._pipeline  # noqa: F401

    rss_before = _rss_kb()
    planned = run_planner(profiles(n))
    rss_after = _rss_kb()
    return {
        "n": n,
        "unique": planned["unique"],
        "rss_before_kb": rss_before,
        "rss_peak_kb": rss_after,
        "growth_kb": rss_after - rss_before,
    }


def child_profile(n: int) -> dict[str, Any]:
    rows = list(profiles(n))
    prof = cProfile.Profile()
    prof.enable()
    run_planner(rows)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(14)
    text = out.getvalue()
    top = []
    for (file, line, func), (_cc, nc, tt, ct, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][2],
        reverse=True,
    )[:14]:
        top.append(
            {"func": f"{file}:{line}({func})", "ncalls": nc, "tottime_s": tt, "cumtime_s": ct}
        )
    return {"n": n, "top": top, "text": text}
