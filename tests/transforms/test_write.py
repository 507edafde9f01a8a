from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.dataset as ds

from transforms.schema import UTC_TIMESTAMP
from transforms.write import write_by_date


def test_rows_land_in_their_utc_day_sorted_by_time(tmp_path):
    times = [datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc), datetime(2026, 3, 1, 8, tzinfo=timezone.utc),
             datetime(2026, 3, 2, 0, 10, tzinfo=timezone.utc), datetime(2026, 3, 1, 7, tzinfo=timezone.utc)]
    table = pa.table({"interaction_id": ["a", "b", "c", "d"], "occurred_at": pa.array(times, UTC_TIMESTAMP)})
    written = write_by_date(table, str(tmp_path), "part-00001")
    assert [(path[len(str(tmp_path)) + 1:], rows) for path, rows in written] == [
        ("occurred_date=2026-03-01/part-00001.parquet", 2), ("occurred_date=2026-03-02/part-00001.parquet", 2)]
    back = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert back["interaction_id"].to_pylist() == ["d", "b", "c", "a"]
    assert back.schema.field("reason_code").type == pa.string()  # conformed to the full schema
