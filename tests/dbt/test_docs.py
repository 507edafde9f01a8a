"""Every mart column is documented in dbt's YAML: fast, from the files alone (no dbt run, no warehouse).

A mart's real columns come from dbt's catalog (`cx docs` writes catalog.json) when one is newer than
every model and macro; otherwise the YAML `columns:` list stands in for them, and each listed name must
still occur in the SQL the mart is built from (its model, the models it refs, the macros they call), so a
column dropped from the SQL but left in the YAML is caught. tests/pipelines/test_end_to_end.py checks the
columns of the marts a real build made.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
DBT = ROOT / "dbt"
MODELS = DBT / "models"
MARTS = MODELS / "marts"
MACROS = DBT / "macros"
CATALOGS = [Path(os.environ["CX_DBT_CATALOG"])] if os.environ.get("CX_DBT_CATALOG") else [
    DBT / "target" / "catalog.json", ROOT / "data" / "warehouse" / "docs" / "catalog.json"]

DOC_REF = re.compile(r"""doc\(\s*['"]([^'"]+)['"]\s*\)""")
DOCS_BLOCK = re.compile(r"\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}", re.S)
REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")
MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?\{%-?\s*endmacro\s*-?%\}", re.S)
COMMENTS = re.compile(r"\{#.*?#\}|/\*.*?\*/|--[^\n]*", re.S)


def mart_names() -> list[str]:
    return sorted(p.stem for p in MARTS.glob("*.sql"))


@cache
def yaml_models() -> dict[str, dict]:
    """Every model the marts' YAML files declare: {name: {"file", "description", "columns": {name: description}}}."""
    models: dict[str, dict] = {}
    for path in sorted(MARTS.glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            assert model["name"] not in models, f"{path.name}: model {model['name']} is declared twice"
            columns: dict[str, str] = {}
            for column in model.get("columns") or []:
                name = str(column["name"]).strip('"')
                assert name not in columns, f"{path.name}: {model['name']}.{name} is listed twice"
                columns[name] = column.get("description") or ""
            models[model["name"]] = {"file": path.name, "description": model.get("description") or "", "columns": columns}
    return models


@cache
def docs_blocks() -> dict[str, str]:
    """Every `{% docs name %}` block under the docs path (dbt_project.yml docs-paths: models)."""
    blocks: dict[str, str] = {}
    for path in sorted(MODELS.rglob("*.md")):
        for name, text in DOCS_BLOCK.findall(path.read_text()):
            assert name not in blocks, f"{path.name}: docs block {name} is defined twice"
            blocks[name] = text
    return blocks


def resolved(description: str) -> str:
    """The description as dbt docs shows it: each doc() reference replaced by its block's text."""
    text = re.sub(r"\{\{\s*" + DOC_REF.pattern + r"\s*\}\}", lambda m: docs_blocks().get(m.group(1), ""), description)
    return text.strip()


@cache
def macros() -> dict[str, str]:
    return {m.group(1): m.group(0) for path in sorted(MACROS.glob("*.sql")) for m in MACRO.finditer(path.read_text())}


@cache
def model_paths() -> dict[str, Path]:
    return {p.stem: p for p in MODELS.rglob("*.sql")}


@cache
def built_from(model: str) -> str:
    """The SQL a model is built from, comments left out: its own file, every model it refs (transitively)
    and every macro any of them calls (transitively)."""
    texts, seen, todo = [], set(), [model]
    while todo:
        name = todo.pop()
        if name in seen or name not in model_paths():
            continue
        seen.add(name)
        text = COMMENTS.sub(" ", model_paths()[name].read_text())
        texts.append(text)
        todo += REF.findall(text)
    called, grew = set(), True
    while grew:
        grew = False
        for name, body in macros().items():
            if name not in called and any(re.search(rf"\b{name}\s*\(", t) for t in texts):
                called.add(name)
                texts.append(COMMENTS.sub(" ", body))
                grew = True
    return "\n".join(texts)


@cache
def catalog_columns() -> dict[str, list[str]] | None:
    """The marts' columns from a dbt catalog newer than every model, macro and project file; else None."""
    sources = [*MODELS.rglob("*.sql"), *MACROS.glob("*.sql"), DBT / "dbt_project.yml"]
    newest_source = max(p.stat().st_mtime for p in sources)
    for path in CATALOGS:
        if path.exists() and path.stat().st_mtime > newest_source:
            nodes = json.loads(path.read_text()).get("nodes", {})
            found = {node["metadata"]["name"]: [c["name"] for c in sorted(node["columns"].values(), key=lambda c: c["index"])]
                     for node in nodes.values() if node.get("metadata", {}).get("name") in mart_names()}
            if set(found) == set(mart_names()):
                return found
    return None


def test_every_mart_is_declared_in_yaml_with_a_model_description():
    declared = yaml_models()
    missing = [m for m in mart_names() if m not in declared]
    assert missing == [], f"marts without a YAML entry in dbt/models/marts/*.yml: {missing}"
    stale = [m for m in declared if m not in mart_names()]
    assert stale == [], f"YAML declares models that have no dbt/models/marts/<name>.sql: {stale}"
    blank = [f"{m} ({declared[m]['file']})" for m in mart_names() if not resolved(declared[m]["description"])]
    assert blank == [], f"marts without a model description: {blank}"


@pytest.mark.parametrize("model", mart_names())
def test_every_mart_column_has_a_description(model):
    declared = yaml_models().get(model, {"file": f"{model}.yml", "columns": {}})
    catalog = catalog_columns()
    columns = catalog[model] if catalog else list(declared["columns"])
    assert columns, f"{model}: no columns listed in {declared['file']}"
    undocumented = [c for c in columns if not resolved(declared["columns"].get(c, ""))]
    assert undocumented == [], f"{model} ({declared['file']}): columns without a description: {undocumented}"


@pytest.mark.parametrize("model", mart_names())
def test_every_yaml_column_is_in_the_mart(model):
    """A column the YAML documents must still be made by the mart: in the catalog's columns when there is
    a current catalog, else named in the SQL the mart is built from."""
    declared = yaml_models().get(model, {"file": f"{model}.yml", "columns": {}})
    catalog = catalog_columns()
    if catalog:
        gone = [c for c in declared["columns"] if c not in catalog[model]]
    else:
        sql = built_from(model)
        gone = [c for c in declared["columns"] if not re.search(rf"(?<!\w){re.escape(c)}(?!\w)", sql, re.I)]
    assert gone == [], f"{model} ({declared['file']}): YAML documents columns the model does not make: {gone}"


def test_every_doc_reference_has_a_docs_block():
    blocks = docs_blocks()
    texts = {p.relative_to(DBT).as_posix(): p.read_text() for p in [*MODELS.rglob("*.yml"), *MODELS.rglob("*.md")]}
    dangling = [f"{name}: doc('{ref}')" for name, text in texts.items() for ref in DOC_REF.findall(text) if ref not in blocks]
    assert dangling == [], f"doc() references without a {{% docs %}} block: {dangling}"
    empty = [name for name, text in blocks.items() if not text.strip()]
    assert empty == [], f"empty docs blocks: {empty}"
    assert "__overview__" in blocks, "dbt/models/docs.md needs a {% docs __overview__ %} block (the docs site's front page)"
