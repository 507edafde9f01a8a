"""The run summary fits an 80-column terminal with every key name whole."""

from pathlib import Path

from rich.console import Console

from pipelines.summary import render
from transforms.schema import JOURNEY_PHASES, TOUCHPOINTS
from transforms.tagging.taxonomy import load_taxonomy

REASONS = sorted((r.code for r in load_taxonomy(None).reasons), key=len, reverse=True)
PHASES = sorted(JOURNEY_PHASES, key=len, reverse=True)
TOUCHPOINT_NAMES = sorted(TOUCHPOINTS, key=len, reverse=True)


def figures() -> dict:
    """Figures with the longest names there are and large counts: the widest summary a run can print."""
    big = {"files": 120, "read": 19_017_858, "good": 18_900_000, "failed": 117_858, "duplicates": 1_234_567, "written": 17_665_433}
    return {
        "touchpoints": {name: dict(big) for name in TOUCHPOINT_NAMES},
        "totals": {k: v for k, v in big.items() if k != "files"},
        "manifest": {"identity": None, "redacted": {}, "incremental": None},
        "root_causes": [{"reason_code": REASONS[i], "journey_phase": PHASES[i], "touchpoint": TOUCHPOINT_NAMES[i],
                         "contacts": 1_234_567, "unresolved_rate": 0.123, "repeat_rate": 0.456, "ces_mean": 3.21,
                         "impact_score": 12345.6} for i in range(5)],
        "effort": [{"journey_phase": phase, "episodes": 1_234_567, "ces_mean": 4.56, "ces_easy_rate": 0.61, "fcr_rate": 0.72,
                    "repeat_contact_rate": 0.12, "transfers_per_episode": 0.34, "effort_index": 45.6} for phase in PHASES],
        "closed_loop": {"actions": 0},
        "perception": None,
    }


def printed(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    render(console, figures(), Path("/w/cx.duckdb"), Path("/w/exports"), {"ingest": 12.3, "dbt build": 45.6},
           Path("/w/report.html"))
    return console.export_text()


def test_the_summary_fits_80_columns_with_every_name_whole():
    text = printed(80)
    tables = text.split("Done")[0]
    assert max(len(line) for line in tables.splitlines()) <= 80
    assert "…" not in text
    for name in REASONS[:5] + PHASES + TOUCHPOINT_NAMES:
        assert any(name == cell.strip() for line in tables.splitlines() for cell in line.split("  ")), name
    assert "\n" + " " * 17 in tables  # the touchpoint under the phase, not a cut name
    assert "Report: /w/report.html" in text


def root_cause_header(width: int) -> str:
    return next(line for line in printed(width).split("Top 5 root causes")[1].splitlines() if "reason" in line)


def test_a_wide_terminal_shows_repeat_rate_and_ces_too():
    assert "repeat" not in root_cause_header(80)
    assert "repeat" in root_cause_header(120) and "CES" in root_cause_header(120)
