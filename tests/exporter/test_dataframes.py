"""A DataFrame passed as the segment: iterating it gives column names, so say what to pass."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from acexport import ConfigError, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import make_client

ROWS = [{"Email": f"u{i}@example.com"} for i in range(20)]


@pytest.mark.parametrize(
    ("frame", "advice"),
    [
        (pd.DataFrame(ROWS), "df.to_dict('records')"),
        (pl.DataFrame(ROWS), "df.iter_rows(named=True)"),
    ],
    ids=["pandas", "polars"],
)
def test_a_dataframe_is_refused_with_what_to_pass(
    fake: FakeActiveCampaign, clock: VirtualClock, frame: object, advice: str
) -> None:
    with make_client(fake, clock) as client:
        exporter = SegmentExporter(client, 1, FieldMapping(email="Email"))
        with pytest.raises(ConfigError, match="column names") as caught:
            exporter.export(frame)  # type: ignore[arg-type]
    assert advice in str(caught.value)
    assert fake.stats.requests == 0  # refused before any call


@pytest.mark.parametrize(
    "rows",
    [pd.DataFrame(ROWS).to_dict("records"), pl.DataFrame(ROWS).iter_rows(named=True)],
    ids=["pandas", "polars"],
)
def test_the_advised_rows_export(
    fake: FakeActiveCampaign, clock: VirtualClock, rows: object
) -> None:
    with make_client(fake, clock) as client:
        report = SegmentExporter(client, 1, FieldMapping(email="Email")).export(rows)  # type: ignore[arg-type]
    assert report.exported == 20
