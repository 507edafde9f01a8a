"""What analysts and BI tools get: the HTML report, and a warehouse any DuckDB 1.x or 2.x reader can open."""

import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from pipelines.report import SECTIONS, build_report
from pipelines.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parents[2]
# DuckDB of the 1.x line, installed beside the project's by `make install` (.venv/duckdb1), as BI tools bundle it.
DUCKDB_1X = ROOT / ".venv" / "duckdb1"
SECTION_IDS = ["root-causes", "effort", "funnel", "expectation-gaps", "perception", "closed-loop", "churn-revenue", "data-quality"]
MARKS = re.compile(r"<(path|rect|line|circle|text)\b")


class Sections(HTMLParser):
    """The report's sections: id -> (attributes, the HTML inside)."""

    def __init__(self, text: str):
        super().__init__()
        self.found, self.scripts, self.fetched = {}, 0, []
        self.feed(text)
        for match in re.finditer(r'<section id="([^"]+)"(.*?)</section>', text, re.S):
            self.found[match.group(1)] = match.group(0)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        for name in ("src", "href"):
            if attrs.get(name, "").startswith(("http:", "https:", "//")):
                self.fetched.append(attrs[name])


@pytest.fixture(scope="module")
def report(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    path, _ = build_report(world["built"].duckdb_path, out, world["lake"])
    return path.read_text()


def test_the_report_answers_every_question_with_data(report):
    sections = Sections(report)
    assert list(sections.found) == SECTION_IDS
    assert len(SECTIONS) + 1 == len(SECTION_IDS)
    for section_id, body in sections.found.items():
        n = int(re.search(r'data-n="(\d+)"', body).group(1))
        assert n > 0, section_id
        assert 'class="empty"' not in body, section_id
        assert re.search(r'data-marts="[^"]*marts\.\w+', body) or section_id == "data-quality", section_id
        chart = body.split("<svg", 1)[1]
        assert len(MARKS.findall(chart)) > 10, f"{section_id}: the chart has no marks"


def test_the_report_opens_offline(report):
    sections = Sections(report)
    assert sections.scripts == 0 and sections.fetched == []
    assert "<style>" in report and "cdn" not in report.lower()


def test_the_report_flags_partial_months_and_small_cells(report, world):
    con = open_warehouse(world["built"].duckdb_path)
    partial = [m.strftime("%Y-%m") for (m,) in con.execute(
        "select distinct month from effort_by_phase where is_partial_month order by 1").fetchall()]
    con.close()
    effort = Sections(report).found["effort"]
    assert partial and f"Partial months (the data covers them only in part): {', '.join(partial)}" in effort
    assert "fewer than 30" in Sections(report).found["root-causes"] + effort


def test_the_data_quality_section_links_each_runs_gate_results(report, world):
    """Every run in the lake kept its gate's verdict and Great Expectations' results; the report shows each
    verdict and links each run's data docs. (Other tests add runs to this lake; some are meant to fail.)"""
    quality = Sections(report).found["data-quality"]
    runs = sorted(p.parent for p in (world["lake"] / "runs").glob("*/manifest.json"))
    assert len(runs) >= 2
    validated = 0
    for run in runs:
        gate = json.loads((run / "quality" / "gate.json").read_text())  # a run that wrote nothing new validates no file
        validated += sum(v["result"]["statistics"]["evaluated_expectations"] > 0 for v in gate["validations"])
        verdict = "passed" if gate["success"] else "failed"
        assert re.search(rf"<td>{re.escape(run.name)}</td>.*?<td>{verdict}</td>", quality, re.S), run.name
        docs = run / "quality" / "docs" / "index.html"
        assert docs.exists() and docs.resolve().as_uri() in quality, run.name
    assert validated >= 2


def last_day_of_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def test_partial_months_are_the_first_and_last_the_data_covers_in_part(world):
    con = open_warehouse(world["built"].duckdb_path)
    earliest, latest = con.execute("select min(occurred_at)::date, max(occurred_at)::date from interactions").fetchone()
    expected = ({earliest.replace(day=1)} if earliest.day != 1 else set()) | (
        {latest.replace(day=1)} if latest != last_day_of_month(latest) else set())
    assert expected
    for mart in ("effort_by_phase", "effort_by_touchpoint", "cx_scores"):
        flagged = {m for (m,) in con.execute(f"select distinct month from {mart} where is_partial_month").fetchall()}
        months = {m for (m,) in con.execute(f"select distinct month from {mart} where month is not null").fetchall()}
        assert flagged == expected & months, mart
    con.close()


def test_marts_live_in_their_own_schema_with_plain_column_names_and_bigint_sums(world):
    con = open_warehouse(world["built"].duckdb_path)
    marts = {p.stem for p in (ROOT / "dbt" / "models" / "marts").glob("*.sql")}
    schemas = dict(con.execute("select table_name, table_schema from information_schema.tables").fetchall())
    assert {schemas[m] for m in marts} == {"marts"}
    assert {s for t, s in schemas.items() if t.startswith("stg_")} == {"staging"}
    assert {s for t, s in schemas.items() if t.startswith("int_")} == {"intermediate"}
    reserved = {k for (k,) in con.execute("select keyword_name from duckdb_keywords() where keyword_category = 'reserved'").fetchall()}
    columns = con.execute("select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'").fetchall()
    assert [(t, c) for t, c, _ in columns if c.lower() in reserved] == []
    assert [(t, c, d) for t, c, d in columns if d in ("HUGEINT", "INT128", "UHUGEINT") or d.startswith("DECIMAL(38")] == []
    con.close()


def _with_duckdb_1x(script: str, *args: str) -> str:
    assert (DUCKDB_1X / "duckdb").is_dir(), f"{DUCKDB_1X}: DuckDB 1.x is not installed (make install puts it there)"
    env = dict(os.environ, PYTHONPATH=str(DUCKDB_1X))
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


READ_WITH_1X = """
import duckdb, sys
assert duckdb.__version__.startswith("1."), duckdb.__version__
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set file_search_path = " + repr(sys.argv[2]))
print(duckdb.__version__)
print(con.execute("select count(*) from marts.root_causes").fetchone()[0])
print(con.execute("select count(*) from marts.interactions").fetchone()[0])
print(con.execute("select count(*) from staging.stg_cx__interactions").fetchone()[0])
"""


def test_a_duckdb_1x_reader_opens_a_copy_of_the_warehouse_folder(world, tmp_path):
    """The file is in a storage format DuckDB 1.x reads, and its views name the lake relative to the
    warehouse folder: copied elsewhere whole, the folder still reads, marts and views alike."""
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    shutil.copyfile(world["built"].duckdb_path, copy / "cx.duckdb")
    shutil.copytree(world["lake"], copy / "lake", symlinks=True)
    out = _with_duckdb_1x(READ_WITH_1X, str(copy / "cx.duckdb"), str(copy)).split()
    con = open_warehouse(world["built"].duckdb_path)
    expected = [con.execute("select count(*) from root_causes").fetchone()[0], con.execute("select count(*) from interactions").fetchone()[0]]
    con.close()
    assert out[0].startswith("1.") and [int(x) for x in out[1:3]] == expected
    assert int(out[3]) >= expected[1]
    views = open_warehouse(copy / "cx.duckdb").execute("select sql from duckdb_views() where not internal").fetchall()
    assert views and not [sql for (sql,) in views if str(world["root"]) in sql]


def test_every_exposure_points_at_a_report_section_that_reads_its_marts(report):
    sections = Sections(report).found
    exposures = yaml.safe_load((ROOT / "dbt" / "models" / "exposures.yml").read_text())["exposures"]
    read = " ".join(re.search(r'data-marts="([^"]*)"', body).group(1) for body in sections.values())
    for exposure in exposures:
        path, anchor = exposure["url"].split("#")
        assert path == "data/warehouse/report.html" and anchor in sections, exposure["name"]
        for ref in exposure["depends_on"]:
            assert "marts." + re.fullmatch(r"ref\('(\w+)'\)", ref).group(1) in read, (exposure["name"], ref)


def test_the_dashboard_shows_every_section(world, report, monkeypatch):
    """The Streamlit app run headless (Streamlit's AppTest): a tab per report section, with its chart, no error."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(sys, "argv", ["dashboard", "--warehouse", str(world["root"])])
    app = AppTest.from_file(str(ROOT / "pipelines" / "dashboard.py"), default_timeout=120)
    app.run()
    assert not app.exception and not app.error
    titles = [html.unescape(t) for t in re.findall(r"<h2>(.*?)</h2>", report)]
    assert [tab.label for tab in app.tabs] == titles
    charts = [e for e in _walk(app.main) if getattr(e, "type", "") == "vega_lite_chart"]
    assert len(charts) == report.count("<figure>")


def _walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def test_a_run_without_gate_results_shows_as_not_run(world, tmp_path):
    """A run killed before its gate (or made with --no_gate) has a manifest and no quality folder."""
    gated = sorted(p.parents[1] for p in (world["lake"] / "runs").glob("*/quality/gate.json"))[0]
    lake = tmp_path / "lake"
    shutil.copytree(gated, lake / "runs" / "gated", ignore=shutil.ignore_patterns("interactions", "failed", "keys", "links"))
    (lake / "runs" / "killed").mkdir()
    shutil.copyfile(gated / "manifest.json", lake / "runs" / "killed" / "manifest.json")
    path, _ = build_report(world["built"].duckdb_path, tmp_path / "report.html", lake)
    quality = Sections(path.read_text()).found["data-quality"]
    assert re.search(r"<td>killed</td>.*?<td>not run</td>", quality, re.S)
    assert quality.count("Great Expectations data docs</a>") == 1
