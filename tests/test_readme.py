"""The README documents the canonical record: every column of schema v1 is in its table."""

import re
from pathlib import Path

from transforms.schema import INTERACTION_SCHEMA

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_canonical_column():
    section = README.read_text().split("## The canonical interaction record")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.M))
    assert set(INTERACTION_SCHEMA.names) == documented


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_the_bring_your_own_data_example_runs(tmp_path, monkeypatch, capsys):
    """The kiosk adapter from the README, registered in a copy of touchpoints.yml, ingested end to end."""
    import sys

    import duckdb

    from pipelines.cli import main

    section = README.read_text().split("## Bring your own data")[1].split("\n## ")[0]
    (tmp_path / "kiosk_feedback.py").write_text(re.search(r"```python\n(.*?)```", section, re.S).group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("kiosk_feedback", None)
    config = (README.parent / "data" / "config" / "touchpoints.yml").read_text() + "  kiosk: kiosk_feedback:KIOSK\n"
    (tmp_path / "my-touchpoints.yml").write_text(config)
    raw = tmp_path / "raw" / "kiosk"
    raw.mkdir(parents=True)
    (raw / "feedback.csv").write_text("KioskId,SubmittedAt,LoyaltyCard,Stars,Comment\n"
                                      "k-7,2026-03-02T10:15:00+01:00,C1,2,I was charged twice at the till\n"
                                      "k-7,2026-03-02T11:00:00+01:00,C2,4,quick and easy\n"
                                      "k-8,not a time,C3,5,\n")
    warehouse = tmp_path / "warehouse"
    code = main(["run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse),
                 "--touchpoints", str(tmp_path / "my-touchpoints.yml")])
    assert code == 0, capsys.readouterr().err
    con = duckdb.connect(str(warehouse / "cx.duckdb"), read_only=True)
    rows = con.execute("select customer_id, csat, reason_code from interactions order by customer_id").fetchall()
    assert rows == [("C1", 2, "billing_confusion"), ("C2", 4, "unknown")]
    failed = con.execute("select source_line, error_type from stg_cx__failed_records").fetchall()
    assert failed == [(4, "invalid_timestamp")]


def test_the_shapes_gallery_names_every_fixture_and_folder():
    gallery = (README.parent / "docs" / "shapes.md").read_text()
    fixtures = sorted(p for p in (README.parent / "tests" / "fixtures" / "vendors").rglob("*") if p.is_file())
    assert fixtures and [p.name for p in fixtures if p.name not in gallery] == []
    from transforms.sources import load_adapters

    assert [folder for folder in load_adapters() if f"{folder}/" not in gallery] == []
