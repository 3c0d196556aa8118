"""What one exported row costs the fake ActiveCampaign: ``python bench/sandbox_memory.py``.

Feeds ``--rows`` unique profiles (``sample_profiles``, mapped as the CLI's documented sandbox
example maps them: names, phone, TIER, BIRTHDAY, a tag, subscribe to list 1) through the fake's
bulk import in requests of 250, as ``acexport export --sandbox`` does, polls every batch until
it has been applied, and prints the bytes per row the fake holds afterwards (tracemalloc: the
traced memory after, less before) and the growth of the process's peak RSS (measured in a
separate child process run without tracemalloc, whose own overhead would inflate it).

``--lean`` builds the fake as the sandbox does (``FakeActiveCampaign(lean=True)``); without it,
the default full-memory fake. Each measurement runs in its own subprocess.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tracemalloc
from typing import Any

import httpx

from acexport.testing import FakeActiveCampaign, VirtualClock, sample_profiles

KEY = "bench-key"
PER_REQUEST = 250
URL = "https://fake.api-us1.com/api/3"


def _fake(lean: bool) -> tuple[FakeActiveCampaign, VirtualClock]:
    clock = VirtualClock()
    options: dict[str, Any] = {"lean": True} if lean else {}
    fake = FakeActiveCampaign(api_key=KEY, clock=clock, import_delay=0.0, **options)
    fake.add_list("Sandbox list", id=1)
    fake.add_field("Tier", perstag="TIER")
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date")
    fake.add_field("Company", perstag="COMPANY")
    return fake, clock


def _call(fake: FakeActiveCampaign, method: str, path: str, **kwargs: Any) -> Any:
    request = httpx.Request(method, URL + path, headers={"Api-Token": KEY}, **kwargs)
    response = fake.handler(request)
    if response.status_code != 200:
        raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return response.json()


def _feed(fake: FakeActiveCampaign, clock: VirtualClock, rows: int) -> None:
    chunk: list[dict[str, Any]] = []
    profiles = sample_profiles(rows, duplicate_fraction=0.0, invalid_fraction=0.0, seed=1)
    batch_ids: list[str] = []

    def submit() -> None:
        body = json.dumps({"contacts": chunk}).encode()
        batch_ids.append(_call(fake, "POST", "/import/bulk_import", content=body)["batchId"])
        chunk.clear()

    for p in profiles:
        chunk.append(
            {
                "email": p["Email"],
                "first_name": p["FirstName"],
                "last_name": p["LastName"],
                "phone": p["Phone"],
                "fields": [{"id": 1, "value": p["Tier"]}, {"id": 2, "value": str(p["Birthday"])}],
                "tags": ["sample"],
                "subscribe": [{"listid": 1}],
            }
        )
        if len(chunk) == PER_REQUEST:
            submit()
    if chunk:
        submit()
    clock.advance(1.0)
    for batch_id in batch_ids:  # as the exporter polls: this applies each finished batch
        info = _call(fake, "GET", "/import/info", params={"batchId": batch_id})
        if info["status"] != "completed":
            raise SystemExit(f"batch {batch_id}: {info['status']!r}")


def _check(fake: FakeActiveCampaign, rows: int) -> None:
    first = next(iter(sample_profiles(1, duplicate_fraction=0.0, invalid_fraction=0.0, seed=1)))
    contact = fake.contact_by_email(first["Email"])
    if contact is None or contact.lists != {1: 1}:
        raise SystemExit(f"the first row is not a subscribed contact: {contact!r}")
    created = sum(len(b.success) for b in fake.batches.values())
    if created != rows:
        raise SystemExit(f"{created} contacts created, {rows} expected")


def child(rows: int, lean: bool, how: str) -> dict[str, Any]:
    fake, clock = _fake(lean)
    if how == "tracemalloc":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _feed(fake, clock, rows)
        after, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _check(fake, rows)
        return {"bytes_per_row": (after - before) / rows, "peak_per_row": (peak - before) / rows}
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _feed(fake, clock, rows)
    after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _check(fake, rows)
    return {"rss_bytes_per_row": (after_kib - before_kib) * 1024 / rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lean", action="store_true")
    parser.add_argument("--child", choices=("tracemalloc", "rss"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, args.lean, args.child)))
        return
    result: dict[str, Any] = {"rows": args.rows, "lean": args.lean}
    for how in ("tracemalloc", "rss"):
        cmd = [sys.executable, __file__, "--rows", str(args.rows), "--child", how]
        out = subprocess.run(
            cmd + (["--lean"] if args.lean else []),
            check=False,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"{result['rows']:,} rows, {'lean' if args.lean else 'full'} fake: "
        f"{result['bytes_per_row']:,.0f} B/row held (tracemalloc), "
        f"{result['peak_per_row']:,.0f} B/row at peak, "
        f"{result['rss_bytes_per_row']:,.0f} B/row of peak RSS"
    )


if __name__ == "__main__":
    main()
