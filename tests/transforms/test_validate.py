from datetime import datetime, timezone

import pyarrow as pa

from transforms.schema import UTC_TIMESTAMP
from transforms.validate import validate

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_generic_rules_fill_first_error_and_keep_adapter_errors():
    table = pa.table({
        "occurred_at": pa.array([datetime(2026, 5, 1, tzinfo=timezone.utc), datetime(1999, 1, 1, tzinfo=timezone.utc),
                                 datetime(2026, 5, 1, tzinfo=timezone.utc), datetime(2026, 5, 1, tzinfo=timezone.utc),
                                 None], UTC_TIMESTAMP),
        "channel_type": ["assisted", "assisted", "telepathy", "assisted", "assisted"],
        "interaction_type": ["call", "call", "call", "call", "call"],
        "ces": pa.array([7, 3, 3, 0, None], pa.int32()),
        "error_type": [None, None, None, None, "malformed_json"],
        "error_message": [None, None, None, None, "record is not valid JSON"],
    })
    checked = validate(table, NOW)
    assert checked["error_type"].to_pylist() == [None, "timestamp_out_of_range", "invalid_value", "out_of_range", "malformed_json"]
    assert checked["error_message"].to_pylist()[1:4] == [
        "occurred_at 1999-01-01 00:00:00.000000Z is before 2000", "unknown channel_type telepathy", "ces 0 is outside 1-7"]
