"""Shared helpers: parse inline samples through an adapter exactly as the ingest job does."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from transforms.io import frame_chunk, plan_chunks
from transforms.parse import Parsed, parse_framed
from transforms.sources import default_adapters
from transforms.sources.base import SourceAdapter, connect

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def con():
    return connect()


def parse_with(con, path, adapters: tuple[SourceAdapter, ...] | SourceAdapter, touchpoint: str | None = None,
               chunk_bytes: int = 1 << 20) -> Parsed:
    """Frame a whole file by its content, route each record to the first adapter that accepts it, and
    return all good and failed rows, as the ingest job does."""
    import pyarrow as pa

    adapters = (adapters,) if isinstance(adapters, SourceAdapter) else tuple(adapters)
    touchpoint = touchpoint or path.parent.name
    goods, faileds = [], []
    for spec in plan_chunks(str(path), touchpoint, chunk_bytes):
        for framed in frame_chunk(spec, chunk_bytes):
            parsed = parse_framed(con, adapters, touchpoint, framed, str(path), spec.layout, now=NOW)
            goods.append(parsed.good)
            faileds.append(parsed.failed)
    from transforms.parse import PARSED_SCHEMA
    from transforms.schema import FAILED_SCHEMA

    return Parsed(pa.concat_tables([PARSED_SCHEMA.empty_table()] + goods), pa.concat_tables([FAILED_SCHEMA.empty_table()] + faileds))


def parse_file(con, path, touchpoint: str, chunk_bytes: int = 1 << 20) -> Parsed:
    """Parse a whole file with the adapters configured for `touchpoint`."""
    return parse_with(con, path, default_adapters()[touchpoint], touchpoint, chunk_bytes)


def write(tmp_path, touchpoint: str, name: str, text: str | bytes):
    folder = tmp_path / touchpoint
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def failures(parsed: Parsed) -> list[tuple[int, str]]:
    return sorted(zip(parsed.failed["source_line"].to_pylist(), parsed.failed["error_type"].to_pylist()))
