"""The marts as a live dashboard (Streamlit): the report's sections, with interactive charts.

Started by `cx dashboard` (http://localhost:8501), which runs
    streamlit run pipelines/dashboard.py -- --warehouse data/warehouse
It reads the published warehouse read-only, so it stays up while `cx run` builds the next one (dbt builds
a copy), and reloads when the file changes. The charts and flags are the report's (pipelines/report.py):
one definition of each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import streamlit as st

from pipelines.report import TITLE, collect_sections


def warehouse_dir(argv: list[str]) -> Path:
    parser = argparse.ArgumentParser(prog="cx dashboard")
    parser.add_argument("--warehouse", default="data/warehouse")
    return Path(parser.parse_args(argv).warehouse)


@st.cache_resource(max_entries=2)
def sections_of(duckdb_path: str, lake: str, modified: float):
    """The report's sections for one version of the warehouse file (keyed by its modification time)."""
    return collect_sections(Path(duckdb_path), Path(lake))


def main() -> None:
    st.set_page_config(page_title="cx dashboard", layout="wide")
    folder = warehouse_dir(sys.argv[1:])
    duckdb_path = folder / "cx.duckdb"
    st.title(TITLE)
    if not duckdb_path.exists():
        st.error(f"{duckdb_path}: no warehouse yet; run `cx run` first")
        return
    sections, subtitle = sections_of(str(duckdb_path), str(folder / "lake"), duckdb_path.stat().st_mtime)
    st.caption(subtitle)
    for tab, section in zip(st.tabs([s.title for s in sections]), sections):
        with tab:
            st.subheader(section.question)
            st.caption(f"from {', '.join(section.marts)} · n = {section.n:,} {section.n_label}")
            if section.empty:
                st.info(section.empty)
            for chart in section.charts:
                st.altair_chart(chart, width="content")
            for flag in section.flags:
                st.warning(flag)
            for shown in section.tables:
                if shown.heading:
                    st.markdown(f"**{shown.heading}**")
                st.dataframe(shown.frame.head(shown.limit), hide_index=True)
            for text, uri in section.links:
                st.markdown(f"[{text}]({uri})")


main()
