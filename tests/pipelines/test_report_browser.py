"""The report in a real browser: headless Chromium opens it from disk, every section renders a chart with
data and no console error. A screenshot of each section goes to test-artifacts/report/."""

import shutil
from pathlib import Path

import pytest

from pipelines.report import build_report
from tests.pipelines.test_outputs import SECTION_IDS

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "report"


def test_every_section_renders_in_chromium(world, tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is not installed (make test-browser installs Debian's package)"
    path, _ = build_report(world["built"].duckdb_path, tmp_path / "report.html", world["lake"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        sections = page.query_selector_all("section")
        assert [s.get_attribute("id") for s in sections] == SECTION_IDS
        for section in sections:
            name = section.get_attribute("id")
            box = section.query_selector("figure svg").bounding_box()
            assert box and box["width"] > 100 and box["height"] > 100, f"{name}: the chart is not drawn"
            assert len(section.query_selector_all("svg path, svg rect, svg line")) > 10, name
            assert int(section.get_attribute("data-n")) > 0, name
            section.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []
