"""Soak run: a long export with injected faults against the loopback fake (``nox -s soak``).

Not part of the test run. Exports ``--profiles`` (default 200,000) profiles over a real
socket to :class:`acexport.testing.FakeActiveCampaign` with about 5% of requests faulted
(503, resets before and after the request is applied, 429) plus some interrupted batches,
then prints the figures and exits non-zero if any row is unaccounted for or any exported
contact is missing from the fake.
"""

from __future__ import annotations

import argparse
import sys
import time

from acexport import ActiveCampaign, ExportError, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign

KEY = "soak-key-not-a-secret"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--rps", type=float, default=400.0)
    parser.add_argument("--bulk-per-minute", type=float, default=12_000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()

    fake = FakeActiveCampaign(
        api_key=KEY,
        requests_per_second=args.rps,
        bulk_imports_per_minute=args.bulk_per_minute,
        import_delay=0.05,
        seed=args.seed,
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    fake.faults.set_rates({"503": 0.02, "reset_after": 0.01, "reset_before": 0.01, "429": 0.01})
    fake.faults.batch_outcomes(["completed"] * 9 + ["interrupted"], applied_fraction=0.5)
    fake.faults.batch_outcomes((["completed"] * 19 + ["interrupted"]) * 50, applied_fraction=0.3)

    mapping = FieldMapping(
        email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("soak",)
    )
    rows = (
        {"Email": f"soak{i}@example.com", "Name": f"S{i}", "Tier": ("gold", "silver")[i % 2]}
        for i in range(args.profiles)
    )
    deadline = time.monotonic() + args.max_seconds

    class Deadline:
        def is_set(self) -> bool:
            return time.monotonic() > deadline

    t0 = time.monotonic()
    with (
        fake.serve() as server,
        ActiveCampaign(
            server.url,
            KEY,
            requests_per_second=args.rps,
            bulk_imports_per_minute=args.bulk_per_minute,
            timeout=10.0,
        ) as client,
    ):
        exporter = SegmentExporter(client, 1, mapping, poll_interval=0.2, cancel=Deadline())
        try:
            report = exporter.export(rows)
            stopped = ""
        except ExportError as exc:
            report = exc.report
            stopped = str(exc)
    elapsed = time.monotonic() - t0
    stats = fake.stats
    accounted = (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    lost = report.received - accounted
    # fake.contacts snapshots every contact (quadratic at this size): count from the store, and
    # check every exported row is there by its email index (O(1) each)
    store = fake._dispatcher.store
    with fake._lock:
        store.apply_finished_batches(fake.clock())
        in_fake = len(store.contacts)
        interrupted = sum(1 for b in store.batches.values() if b.outcome != "completed")
        failed_rows = {e.index for e in report.errors}
        missing = sum(
            1
            for i in range(report.received)
            if i not in failed_rows and store.find_contact(f"soak{i}@example.com") is None
        )
    sample = [
        fake.contact_by_email(f"soak{i}@example.com")
        for i in range(0, report.received, report.received // 5 or 1)
    ]
    sample_ok = all(c is not None and c.lists == {1: 1} and c.tags == {"soak"} for c in sample)
    faults = dict(sorted(stats.faults.items()))
    print(f"profiles            {report.received}")
    print(f"exported            {report.exported}")
    print(f"duplicates/invalid  {report.duplicates}/{report.invalid}")
    print(f"rejected/failed     {report.rejected}/{report.failed}")
    print(f"rows lost           {lost}")
    print(f"faults injected     {sum(faults.values())} {faults}")
    print(f"requests            {stats.requests} (client counted {report.requests})")
    print(
        f"bulk requests       {stats.bulk_requests} accepted, {stats.bulk_contacts} contacts sent"
    )
    print(f"batches interrupted {interrupted} (resubmitted by the exporter)")
    print(f"refused 429/bulk    {stats.refused_429}/{stats.refused_bulk_rate}")
    print(f"contacts in fake    {in_fake} (exported {report.exported}, missing {missing})")
    print(f"sampled contacts    {len(sample)} on list 1 with tags: {sample_ok}")
    print(f"time                {elapsed:.1f}s")
    print(f"cancelled           {report.cancelled} {stopped}")
    ok = (
        lost == 0
        and missing == 0
        and sample_ok
        and in_fake >= report.exported
        and not report.cancelled
        and not stopped
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
