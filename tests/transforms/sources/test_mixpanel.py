import json
from pathlib import Path

from tests.conftest import failures, parse_with
from transforms.sources.amplitude import PRODUCT
from transforms.sources.mixpanel import EVENTS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "product"
ADAPTERS = (EVENTS, PRODUCT)  # the product folder's adapters, in order
DEVICE = "18e0f3c2a1b4d2-0d3e5f7a9b1c2-26021d51-1fa400-18e0f3c2a1b4d2"


def test_raw_export_events(con):
    parsed = parse_with(con, FIXTURES / "mixpanel-export.jsonl", ADAPTERS)
    key = ("source_line", "interaction_id", "interaction_type", "source_customer_ref", "linked_refs", "source_code")
    assert [tuple(r[k] for k in key) for r in parsed.good.to_pylist()] == [
        (1, "product:mixpanel:wcd5kqxw7vbdcb1f", "page_view", f"mixpanel_device:{DEVICE}", [], "$mp_web_page_view"),
        (2, "product:mixpanel:hpuDqcvpltpCjBsebtxwadtEBDnFAdycabFb", "signed_up", "account:7712",
         [f"mixpanel_device:{DEVICE}"], "Signed Up"),
        (3, "product:mixpanel:jajcebutltmvhbbholj", "report_exported", "account:7712", [f"mixpanel_device:{DEVICE}"],
         "Report Exported"),
        # The export is not deduplicated: the same event again, dropped later by the job's dedup.
        (4, "product:mixpanel:hpuDqcvpltpCjBsebtxwadtEBDnFAdycabFb", "signed_up", "account:7712",
         [f"mixpanel_device:{DEVICE}"], "Signed Up"),
        # Original ID Merge: the anonymous distinct_id is the device; no $insert_id, so a hash is the id.
        (5, "product:mixpanel:fba950b96d65cef8d2741dfe76593158", "app_crashed",
         "mixpanel_device:c4f1b2a9-5e3d-4c7b-9a8f-2d1e0b3c4a5f", [], "App Crashed"),
    ]
    first = parsed.good.to_pylist()[1]
    assert first["occurred_at"].isoformat() == "2026-03-04T08:14:15+00:00" and first["record_version"] == 1772612056874
    assert json.loads(first["attributes"])["properties"]["plan"] == "pro"
    # a server job's event with an empty distinct_id; the download cut short mid-line
    assert failures(parsed) == [(6, "missing_field"), (7, "malformed_json")]


def test_amplitude_events_beside_mixpanel_go_to_amplitude(tmp_path, con):
    path = tmp_path / "product" / "mixed.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"event": "Signed Up", "properties": {"time": 1772612055, "distinct_id": "7712"}}) + "\n"
                    + json.dumps({"uuid": "u1", "event_type": "Feature Used", "user_id": "7712",
                                  "event_time": "2026-03-02 10:15:00.250000"}) + "\n")
    parsed = parse_with(con, path, ADAPTERS)
    assert [r["interaction_id"].rsplit(":", 1)[0] for r in parsed.good.to_pylist()] == ["product:mixpanel", "product"]
