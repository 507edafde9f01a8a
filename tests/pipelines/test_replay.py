"""cx replay: failed records go back through the pipeline after a fix; replaying twice adds nothing."""

import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from pipelines.publish import current_run
from pipelines.warehouse import open_warehouse
from tests.conftest import write

KIOSK_ADAPTER = '''
from transforms.sources.base import SourceAdapter, required, timestamp

KIOSK = SourceAdapter(
    name="kiosk", framing="jsonl", consumed=("id", "at", "card", "comment"),
    paths=(("_id", "$.id"), ("_at", "$.at"), ("_card", "$.card"), ("_comment", "$.comment")),
    fields="""'kiosk:' || _id as interaction_id, 'kiosk' as touchpoint, 'self_service' as channel_type,
        'kiosk_feedback' as interaction_type, cx_ts_zoned(_at) as occurred_at, 'account:' || _card as source_customer_ref,
        _comment as text, null::bigint as record_version""",
    checks=(required("_id", "id"), timestamp("_at", "occurred_at", "at")),
)
'''
PAGE = '{"messageId":"m%d","type":"page","anonymousId":"a1","userId":"C1","timestamp":"2026-02-1%dT10:00:00Z"}\n'


@pytest.fixture
def setup(tmp_path, monkeypatch, capsys):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    write(raw, "web", "events.jsonl", PAGE % (1, 1) + PAGE % (2, 2) + '{"messageId":"m3","type":\n')
    write(raw, "kiosk", "feedback.jsonl", '{"id":"k1","at":"2026-02-12T10:00:00Z","card":"C1","comment":"charged twice"}\n'
                                          '{"id":"k2","at":"2026-02-13T10:00:00Z","card":"C2","comment":"quick"}\n')
    (tmp_path / "kiosk_adapter.py").write_text(KIOSK_ADAPTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("kiosk_adapter", None)
    config = tmp_path / "touchpoints.yml"
    config.write_text("touchpoints:\n  web: transforms.sources.segment:WEB\n  kiosk: kiosk_adapter:KIOSK\n")

    def cx(*args):
        capsys.readouterr()
        code = main([*args, "--warehouse", str(warehouse)])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    cx("ingest", "--input", str(raw))
    return raw, warehouse, config, cx


def lake(warehouse):
    run = Path(current_run(warehouse / "lake"))
    good = ds.dataset(run / "interactions", format="parquet", partitioning="hive").to_table(columns=["interaction_id"])
    failed = ds.dataset(run / "failed", format="parquet").to_table(columns=["source_file", "source_line", "error_type"])
    return sorted(good["interaction_id"].to_pylist()), sorted(failed.to_pylist(), key=lambda r: (r["source_file"], r["source_line"] or 0))


@pytest.mark.slow
def test_a_fixed_configuration_lets_failed_records_land_and_replaying_twice_adds_nothing(setup):
    raw, warehouse, config, cx = setup
    good, failed = lake(warehouse)
    assert good == ["web:m1", "web:m2"]
    assert [(r["source_line"], r["error_type"]) for r in failed] == [(1, "unknown_touchpoint"), (3, "malformed_json")]
    listed = cx("replay", "--input", str(raw), "--dry-run")
    assert "feedback.jsonl" in listed and "events.jsonl" in listed and lake(warehouse) == (good, failed)  # nothing changed

    out = cx("replay", "--input", str(raw), "--touchpoint", "kiosk", "--touchpoints", str(config))
    assert "replayed 1 files" in out and "now 2 good, 0 still failed" in out
    good, failed = lake(warehouse)
    assert good == ["kiosk:k1", "kiosk:k2", "web:m1", "web:m2"]
    assert [(r["source_line"], r["error_type"]) for r in failed] == [(3, "malformed_json")]
    con = open_warehouse(warehouse / "cx.duckdb")
    assert con.execute("select reason_code from interactions where interaction_id = 'kiosk:k1'").fetchone() == ("billing_confusion",)
    con.close()

    for _ in range(2):  # the broken line is still broken: it stays one failed record, nothing is added
        out = cx("replay", "--input", str(raw), "--touchpoints", str(config))
        assert "now 2 good, 1 still failed" in out
        assert lake(warehouse) == (good, failed)
    assert "nothing to replay" in cx("replay", "--input", str(raw), "--touchpoint", "kiosk")


@pytest.mark.slow
def test_a_fixed_file_replays_into_good_records(setup):
    raw, warehouse, config, cx = setup
    write(raw, "web", "events.jsonl", PAGE % (1, 1) + PAGE % (2, 2) + PAGE % (3, 3))  # the sender fixed line 3
    cx("replay", "--input", str(raw), "--error-type", "malformed_json")
    good, failed = lake(warehouse)
    assert good == ["web:m1", "web:m2", "web:m3"] and [r["error_type"] for r in failed] == ["unknown_touchpoint"]


def test_replaying_a_file_that_is_gone_is_one_line(setup, capsys):
    raw, warehouse, _, _ = setup
    (raw / "kiosk" / "feedback.jsonl").unlink()
    code = main(["replay", "--input", str(raw), "--warehouse", str(warehouse), "--touchpoint", "kiosk"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "gone from the input" in err
