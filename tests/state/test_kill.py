"""Resume after SIGKILL: a child process exports against the fake's loopback server with a
state file and is killed mid-way; the rerun settles what the dead run left open and sends only
what is still unconfirmed. Every row lands, the report adds up, and the contacts sent in all
exceed the segment by at most the batches whose submit was in the air at the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from acexport import ActiveCampaign, FieldMapping, SegmentExporter, SqliteState
from acexport.testing import FakeActiveCampaign
from helpers import KEY

pytestmark = pytest.mark.integration

ROWS = 5000  # 20 batches of 250
RATES = {"requests_per_second": 100.0, "bulk_imports_per_minute": 600.0}
#: Submissions that may be in the air at once (the scheduler overlaps at most two).
IN_THE_AIR = 2 * 250

CHILD = textwrap.dedent(
    """
    import sys
    from acexport import ActiveCampaign, FieldMapping, SegmentExporter

    url, key, state, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    profiles = [{"Email": f"p{i}@example.com"} for i in range(rows)]
    with ActiveCampaign(url, key, requests_per_second=100, bulk_imports_per_minute=600) as c:
        SegmentExporter(c, 1, FieldMapping(email="Email"), state=state, poll_interval=0.2).export(
            profiles
        )
    """
)


@pytest.mark.parametrize("kill_after", [3, 9])
def test_a_killed_run_resumes_without_sending_twice(tmp_path: Path, kill_after: int) -> None:
    fake = FakeActiveCampaign(api_key=KEY, import_delay=0.3, **RATES)
    fake.add_list("Segment")
    state = tmp_path / "state.sqlite"
    with fake.serve() as server:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, server.url, KEY, str(state), str(ROWS)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        try:
            ends = time.monotonic() + 60
            while fake.stats.bulk_requests < kill_after and child.poll() is None:
                assert time.monotonic() < ends, "the child never submitted"
                time.sleep(0.01)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        assert child.returncode == -signal.SIGKILL
        sent_before = fake.stats.bulk_contacts
        assert 0 < sent_before < ROWS

        with ActiveCampaign(server.url, KEY, **RATES) as client:
            report = SegmentExporter(
                client, 1, FieldMapping(email="Email"), state=state, poll_interval=0.2
            ).export({"Email": f"p{i}@example.com"} for i in range(ROWS))

    assert report.received == ROWS
    assert report.exported + report.unchanged == ROWS
    assert report.failed == report.rejected == 0
    # every row landed on the list
    on_list = [c for c in fake.contacts if c.lists.get(1) == 1]
    assert len(on_list) == ROWS
    # nothing went twice but what was in the air at the kill
    assert fake.stats.bulk_contacts <= ROWS + IN_THE_AIR
    assert report.unchanged >= sent_before - IN_THE_AIR
    with SqliteState(state) as store:
        (summary,) = store.summaries()
    assert (summary.confirmed, summary.open_batches) == (ROWS, 0)
