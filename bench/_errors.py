"""Row errors at scale (issue 14): peak RSS of an export where half the rows are invalid.

``python bench/run.py --only errors`` (``--quick``: 200,000 rows instead of 2,000,000).

The fake ActiveCampaign runs in its own process (``FakeActiveCampaign(lean=True).serve()``,
limits far above the client's), so the figures are the exporter's own memory, not the fake's.
Each measurement is a fresh process whose ``VmHWM`` (``/proc/self/status``) is its peak RSS:

- ``library``: ``SegmentExporter.export`` over a generator of the rows (nothing kept by the
  caller), the report as returned;
- ``cli --report``: ``acexport export rows.csv --report report.json``;
- ``cli --errors``: ``acexport export rows.csv --errors errors.csv``.

``--src DIR`` runs them against another checkout's ``src`` (the "before" figures).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
KEY = "bench-errors-key"
RPS, BULK = 2_000.0, 120_000.0  # the client's limits: far above ActiveCampaign's, for speed


def rows(n: int) -> Iterator[dict[str, str]]:
    """``n`` rows, every other one with an email without its @ (``user0.example.com``)."""
    for i in range(n):
        email = f"user{i}.example.com" if i % 2 == 0 else f"user{i}@example.com"
        yield {"Email": email, "FirstName": f"First{i}", "Tier": ("gold", "silver")[i % 2]}


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Email,FirstName,Tier\n")
        for r in rows(n):
            f.write(f"{r['Email']},{r['FirstName']},{r['Tier']}\n")


def _vmhwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- the children --------------------------------------------------------------------------------


def child_server() -> None:
    """Serve a lean fake until stdin closes; print its URL first."""
    from acexport.testing import FakeActiveCampaign

    fake = FakeActiveCampaign(
        api_key=KEY,
        requests_per_second=RPS * 2,
        bulk_imports_per_minute=BULK * 2,
        import_delay=0.0,
        lean=True,
    )
    fake.add_list("Bench list", id=1)
    fake.add_field("Tier", perstag="TIER")
    with fake.serve() as server:
        print(server.url, flush=True)
        sys.stdin.read()


def child_library(url: str, n: int) -> dict[str, Any]:
    from acexport import ActiveCampaign, ExportError, FieldMapping, SegmentExporter

    mapping = FieldMapping(email="Email", first_name="FirstName", fields={"TIER": "Tier"})
    started = time.monotonic()
    with ActiveCampaign(url, KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK) as client:
        exporter = SegmentExporter(client, 1, mapping, poll_interval=0.2)
        try:
            report = exporter.export(rows(n))
        except ExportError as exc:
            report = exc.report
    return {
        "received": report.received,
        "exported": report.exported,
        "invalid": report.invalid,
        "errors_kept": len(report.errors),
        "wall_s": round(time.monotonic() - started, 1),
        "vmhwm_kb": _vmhwm_kb(),
    }


def child_cli(url: str, argv: list[str]) -> dict[str, Any]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from acexport._cli import main

    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*argv, "--api-url", url, "--api-key", KEY, "-q"])
    return {
        "code": code,
        "summary": out.getvalue().splitlines()[0] if out.getvalue() else err.getvalue()[-300:],
        "wall_s": round(time.monotonic() - started, 1),
        "vmhwm_kb": _vmhwm_kb(),
    }


def child_main(args: list[str]) -> None:
    kind = args[0]
    if kind == "server":
        child_server()
        return
    url = args[1]
    if kind == "library":
        res = child_library(url, int(args[2]))
    else:
        res = child_cli(url, json.loads(args[2]))
    print(json.dumps(res))


# --- the parent ----------------------------------------------------------------------------------


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(HERE)])
    return env


def _child(src: Path, *args: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__)), *args]
    out = subprocess.run(
        cmd, env=_env(src), check=True, capture_output=True, text=True, timeout=1800
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _server() -> Iterator[str]:
    cmd = [sys.executable, str(Path(__file__)), "server"]
    proc = subprocess.Popen(
        cmd, env=_env(SRC), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1"):
            raise RuntimeError(f"the fake server did not start: {url!r}")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def measure(n: int, src: Path = SRC, with_errors: bool = True) -> list[dict[str, Any]]:
    """Peak RSS of the three runs (``with_errors=False``: no ``--errors`` run, for a checkout
    without it). Each run gets a fresh fake server."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="acexport-bench-errors-") as tmp:
        folder = Path(tmp)
        data = folder / "rows.csv"
        write_csv(data, n)
        base = ["export", str(data), "--list-id", "1", "--email", "Email"]
        base += ["--first-name", "FirstName", "--field", "TIER=Tier"]
        base += ["--requests-per-second", str(RPS), "--bulk-imports-per-minute", str(BULK)]
        runs: list[tuple[str, list[str] | None]] = [
            ("library", None),
            ("cli --report", [*base, "--report", str(folder / "report.json")]),
        ]
        if with_errors:
            runs.append(("cli --errors", [*base, "--errors", str(folder / "errors.csv")]))
        for name, argv in runs:
            with _server() as url:
                if argv is None:
                    res = _child(src, "library", url, str(n))
                else:
                    res = _child(src, "cli", url, json.dumps(argv))
            res["run"] = name
            res["n"] = n
            if name == "cli --report":
                res["report_bytes"] = (folder / "report.json").stat().st_size
            if name == "cli --errors":
                res["errors_bytes"] = (folder / "errors.csv").stat().st_size
                with (folder / "errors.csv").open(encoding="utf-8") as f:
                    res["errors_lines"] = sum(1 for _ in f) - 1
            results.append(res)
    return results


if __name__ == "__main__":
    child_main(sys.argv[1:])
