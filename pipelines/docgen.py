"""Column tables for the docs, generated from the schema so they never drift from it.

Renders a Markdown table (column, type, description) for each schema in TABLES, from
transforms/schema.py: a field's `description` metadata if it has one, else the description written
beside the field there (COLUMN_DOCS). Each table goes between its marker comments in docs/columns.md:

    <!-- columns:interactions:start -->
    ... generated, do not edit by hand ...
    <!-- columns:interactions:end -->

    python -m pipelines.docgen            rewrite the tables in docs/columns.md
    python -m pipelines.docgen --check    exit 1 when a table there is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pyarrow as pa

from transforms.schema import COLUMN_DOCS, FAILED_SCHEMA, INTERACTION_SCHEMA

COLUMNS_DOC = Path(__file__).resolve().parents[1] / "docs" / "columns.md"
TABLES = {"interactions": INTERACTION_SCHEMA, "failed": FAILED_SCHEMA}


class DocgenError(Exception):
    """The docs file cannot be rewritten (a marker is missing); the message says which."""


def type_name(data_type: pa.DataType) -> str:
    """A column type as the docs show it: 'string', 'int64', 'double', 'decimal(18,2)', 'timestamp (UTC)'."""
    if pa.types.is_timestamp(data_type):
        return f"timestamp ({data_type.tz})" if data_type.tz else "timestamp"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    return str(data_type)


def description(field: pa.Field) -> str:
    if field.metadata and b"description" in field.metadata:
        return field.metadata[b"description"].decode()
    return COLUMN_DOCS.get(field.name, "")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipe ends the cell, no <word> reads as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def column_table(schema: pa.Schema) -> str:
    """A Markdown table of the schema's columns, in schema order."""
    lines = ["| column | type | description |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {type_name(f.type)} | {_cell(description(f))} |" for f in schema]
    return "\n".join(lines)


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- columns:{name}:start -->\n).*?(<!-- columns:{name}:end -->)", re.S)


def render(text: str) -> str:
    """`text` with every table in TABLES rewritten between its markers."""
    for name, schema in TABLES.items():
        block = _block(name)
        if not block.search(text):
            raise DocgenError(f"no <!-- columns:{name}:start --> ... <!-- columns:{name}:end --> markers")
        text = block.sub(lambda m, schema=schema: m.group(1) + column_table(schema) + "\n" + m.group(2), text, count=1)
    return text


def out_of_date(path: Path = COLUMNS_DOC) -> bool:
    """Whether a generated table in `path` differs from what the schema gives."""
    text = path.read_text()
    return render(text) != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.docgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 when a table is out of date.")
    parser.add_argument("--file", type=Path, default=COLUMNS_DOC, help="The Markdown file holding the markers.")
    args = parser.parse_args(argv)
    try:
        text = args.file.read_text()
        rendered = render(text)
    except OSError as exc:
        print(f"docgen: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except DocgenError as exc:
        print(f"docgen: {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if rendered != text:
            print(f"docgen: {args.file} is out of date with transforms/schema.py; run python -m pipelines.docgen",
                  file=sys.stderr)
            return 1
        return 0
    if rendered != text:
        args.file.write_text(rendered)
        print(f"docgen: rewrote the column tables in {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
