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
