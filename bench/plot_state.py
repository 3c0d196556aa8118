"""Draw ``docs/performance_state.png`` from ``bench/results/results.jsonl``: the time to export
1,000,000 profiles at ActiveCampaign's real limits, per contact, as a full bulk send, and
incrementally with 1% changed (``python bench/plot_state.py``; ``run.py --only state real``
records the figures it reads).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "results.jsonl"
PLOT = ROOT / "docs" / "performance_state.png"


def latest(bench: str) -> dict[str, object]:
    found = [r for r in map(json.loads, RESULTS.read_text().splitlines()) if r["bench"] == bench]
    if not found:
        raise SystemExit(f"no {bench} record in {RESULTS}: run bench/run.py first")
    return found[-1]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inc = latest("state_incremental_real_limits")
    real = latest("side_by_side_real_limits")
    n = int(inc["n"])  # type: ignore[call-overload]
    per = real["per contact"]
    per_contact_s = float(per["virtual_s"]) / int(real["n"]) * n  # type: ignore[index, call-overload]
    bars = [
        ("per contact\n(contact/sync + contactLists)", per_contact_s),
        ("SegmentExporter,\nfull send", float(inc["full_send_s"])),  # type: ignore[arg-type]
        (
            f"SegmentExporter with a state,\n{inc['changed']:,} of {n:,} changed",
            float(inc["virtual_s"]),
        ),  # type: ignore[arg-type]
    ]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=["#999999", "#4477aa", "#228833"])
    ax.set_xscale("log")
    for i, (_, seconds) in enumerate(bars):
        text = (
            f"{seconds / 3600:.1f} h"
            if seconds > 7200
            else f"{seconds / 60:.0f} min"
            if seconds > 120
            else f"{seconds:.0f} s"
        )
        ax.text(seconds * 1.1, i, text, va="center")
    ax.set_xlabel(
        "seconds, log scale (5 req/s, 100 bulk imports/min; per contact: measured on "
        f"{real['n']:,}, scaled)",
        fontsize=8,
    )
    ax.set_title(f"Exporting {n:,} profiles at the real limits (virtual clock)", fontsize=11)
    ax.set_xlim(right=per_contact_s * 20)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"plot: {PLOT}")


if __name__ == "__main__":
    main()
