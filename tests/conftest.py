"""Shared helpers: parse inline samples through an adapter exactly as the ingest job does."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from transforms.io import plan_chunks, read_chunk
from transforms.parse import Parsed, parse_block
from transforms.sources import ADAPTERS
from transforms.sources.base import connect

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def con():
    return connect()


def parse_file(con, path, touchpoint: str, chunk_bytes: int = 1 << 20) -> Parsed:
    """Plan, read and parse a whole file; return all good and failed rows."""
    import pyarrow as pa

    adapter = ADAPTERS[touchpoint]
    goods, faileds = [], []
    for spec in plan_chunks(str(path), touchpoint, adapter.framing, adapter.header_rows, chunk_bytes):
        block_bytes = 0 if adapter.framing == "json_document" else chunk_bytes
        for first_line, block in read_chunk(spec, adapter.header_rows, block_bytes, adapter.framing == "csv"):
            parsed = parse_block(con, adapter, block, first_line, str(path), spec.header, now=NOW)
            goods.append(parsed.good)
            faileds.append(parsed.failed)
    return Parsed(pa.concat_tables(goods), pa.concat_tables(faileds))


def write(tmp_path, touchpoint: str, name: str, text: str | bytes):
    folder = tmp_path / touchpoint
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def failures(parsed: Parsed) -> list[tuple[int, str]]:
    return sorted(zip(parsed.failed["source_line"].to_pylist(), parsed.failed["error_type"].to_pylist()))
