import json
from datetime import datetime, timezone

import pyarrow as pa

from pipelines.quality import check_manifest, run_gate
from transforms.schema import UTC_TIMESTAMP
from transforms.tagging import load_taxonomy
from transforms.write import write_by_date

AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def interactions(ids, **columns):
    n = len(ids)
    base = {"interaction_id": ids, "customer_id": ["C1"] * n, "occurred_at": pa.array([AT] * n, UTC_TIMESTAMP),
            "touchpoint": ["call_center"] * n, "channel_type": ["assisted"] * n, "outcome": ["resolved"] * n,
            "journey_phase": ["part_of_core"] * n, "reason_code": ["bug_report"] * n, "reason_confidence": [0.8] * n}
    base.update(columns)
    return pa.table(base)


def manifest(tmp_path, read=10, good=10, failed=0):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"files": [{"file": "f", "read": read, "good": good, "failed": failed}],
                                "totals": {"read": read, "good": good, "failed": failed}}))
    return str(path)


def test_clean_data_passes(tmp_path):
    root = tmp_path / "interactions"
    write_by_date(interactions(["a", "b"]), str(root), "part-00000")
    write_by_date(interactions(["c"]), str(root), "part-00001")
    result = run_gate(str(root), manifest(tmp_path), load_taxonomy())
    assert result.success, result.failures
    assert result.rows == 3


def test_bad_values_and_duplicates_are_named(tmp_path):
    root = tmp_path / "interactions"
    write_by_date(interactions(["a", "a", "b"], ces=pa.array([3, 9, None], pa.int32()),
                               outcome=["resolved", "fixed", "resolved"]), str(root), "part-00000")
    write_by_date(interactions(["c"], reason_code=["made_up"]), str(root), "part-00001")
    result = run_gate(str(root), manifest(tmp_path), load_taxonomy())
    assert not result.success
    text = " | ".join(result.failures)
    assert "expect_column_values_to_be_unique(column=interaction_id): 2 unexpected" in text
    assert "expect_column_values_to_be_between(column=ces, min_value=1.0, max_value=7.0): 1 unexpected, e.g. [9.0]" in text
    assert "expect_column_values_to_be_in_set(column=outcome): 1 unexpected, e.g. ['fixed']" in text
    assert "expect_column_values_to_be_in_set(column=reason_code): 1 unexpected, e.g. ['made_up']" in text


def test_ids_repeated_across_groups_are_caught(tmp_path):
    root = tmp_path / "interactions"
    write_by_date(interactions(["a", "b"]), str(root), "part-00000")
    write_by_date(interactions(["b"]), str(root), "part-00001")
    result = run_gate(str(root), manifest(tmp_path), load_taxonomy())
    assert result.failures == ["interaction_id is not unique across the run: 1 ids appear more than once"]


def test_manifest_must_reconcile_and_failures_stay_rare():
    files = [{"file": "a", "read": 100, "good": 99, "failed": 0}, {"file": "b", "read": 100, "good": 89, "failed": 11}]
    problems = check_manifest({"files": files, "totals": {"read": 200, "good": 188, "failed": 11}})
    assert problems == ["manifest: a read 100 != good 99 + failed 0", "manifest: 11 of 200 records failed, over 5% (most in b: 11, a: 0)"]
    held = files + [{"file": "q", "read": 500, "good": 0, "failed": 500, "quarantined": True}]
    assert check_manifest({"files": held, "totals": {}})[1:] == ["manifest: 11 of 200 records failed, over 5% (most in b: 11, a: 0)"]
    small = [{"file": "c", "read": 3, "good": 2, "failed": 1}]  # too few records to judge a share
    assert check_manifest({"files": small, "totals": {"read": 3, "good": 2, "failed": 1}}) == []


def test_internal_errors_block_publishing(tmp_path):
    from transforms.parse import failed_file
    from transforms.write import write_failed

    root = tmp_path / "interactions"
    write_by_date(interactions(["a"]), str(root), "part-00000")
    failed_dir = tmp_path / "failed"
    write_failed(failed_file("raw/web/e.jsonl", "web", "internal_error", "KeyError: 'x'", 40), str(failed_dir), "part-1")
    result = run_gate(str(root), manifest(tmp_path), load_taxonomy(), failed_dir=str(failed_dir))
    assert result.failures == ["internal error while reading raw/web/e.jsonl: KeyError: 'x'"]
