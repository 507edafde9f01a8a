"""The README and docs/: the two commands, column tables generated from the schema, the worked example
that runs, and links that lead somewhere."""

import re
from pathlib import Path

from pipelines import docgen
from transforms.schema import FAILED_SCHEMA, INTERACTION_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def _block(text: str, name: str) -> str:
    return text.split(f"<!-- columns:{name}:start -->")[1].split(f"<!-- columns:{name}:end -->")[0]


def test_the_generated_column_tables_in_docs_are_up_to_date(capsys):
    assert docgen.main(["--check"]) == 0, capsys.readouterr().err
    text = docgen.COLUMNS_DOC.read_text()
    assert re.findall(r"^\| `(\w+)` \|", _block(text, "interactions"), flags=re.M) == INTERACTION_SCHEMA.names
    assert re.findall(r"^\| `(\w+)` \|", _block(text, "failed"), flags=re.M) == FAILED_SCHEMA.names


def test_the_column_check_notices_a_stale_table_and_the_generator_fixes_it(tmp_path, capsys):
    stale = tmp_path / "columns.md"
    stale.write_text(docgen.COLUMNS_DOC.read_text().replace("| `customer_id` |", "| `customer_key` |"))
    assert docgen.main(["--check", "--file", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert docgen.main(["--file", str(stale)]) == 0
    assert stale.read_text() == docgen.render(docgen.COLUMNS_DOC.read_text())
    stale.write_text("# no markers\n")
    assert docgen.main(["--check", "--file", str(stale)]) == 1


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_the_readme_is_short():
    assert len(README.read_text().splitlines()) <= 180


def _prose(page: Path) -> str:
    """A Markdown page without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)


def _anchors(page: Path) -> set[str]:
    """The #anchors of a page's headings, as GitHub makes them."""
    headings = re.findall(r"^#{1,6} (.+)$", _prose(page), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_in_readme_and_docs_points_to_a_file_that_exists():
    broken = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", _prose(page)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def _relation(con, name: str) -> str:
    """`name` qualified by the schema the warehouse keeps it in."""
    (schema,) = con.execute("select table_schema from information_schema.tables where table_name = ?", [name]).fetchone()
    return f'"{schema}"."{name}"'


def test_the_bring_your_own_data_example_runs(tmp_path, monkeypatch, capsys):
    """The kiosk adapter from docs/adapters.md, registered in a copy of touchpoints.yml, ingested end to end."""
    import sys

    import duckdb

    from pipelines.cli import main

    section = (DOCS / "adapters.md").read_text().split("## Bring your own data")[1].split("\n## ")[0]
    (tmp_path / "kiosk_feedback.py").write_text(re.search(r"```python\n(.*?)```", section, re.S).group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("kiosk_feedback", None)
    config = (ROOT / "data" / "config" / "touchpoints.yml").read_text() + "  kiosk: kiosk_feedback:KIOSK\n"
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
    con.execute(f"set file_search_path = '{warehouse}'")  # where the staging views' lake paths start
    rows = con.execute(f"select customer_id, csat, reason_code from {_relation(con, 'interactions')} "
                       "order by customer_id").fetchall()
    assert rows == [("C1", 2, "billing_confusion"), ("C2", 4, "unknown")]
    failed = con.execute(f"select source_line, error_type from {_relation(con, 'stg_cx__failed_records')}").fetchall()
    assert failed == [(4, "invalid_timestamp")]


def test_the_shapes_gallery_names_every_fixture_and_folder():
    gallery = (DOCS / "shapes.md").read_text()
    fixtures = sorted(p for p in (ROOT / "tests" / "fixtures" / "vendors").rglob("*") if p.is_file())
    assert fixtures and [p.name for p in fixtures if p.name not in gallery] == []
    from transforms.sources import load_adapters

    assert [folder for folder in load_adapters() if f"{folder}/" not in gallery] == []
