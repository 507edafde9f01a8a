import gzip
import hashlib
import json
import tracemalloc

import pytest

from pipelines.generate import generate


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = generate(tmp_path / "a", 150, seed=3, records_per_file=500)
    b = generate(tmp_path / "b", 150, seed=3, records_per_file=500)
    generate(tmp_path / "c", 150, seed=4, records_per_file=500)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert a == b
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_every_touchpoint_in_its_native_shape_with_planted_dirt(tmp_path):
    truth = generate(tmp_path, 300, seed=5, records_per_file=1000)
    folders = {name.split("/")[0] for name in truth["files"]}
    assert folders == {"web", "app", "call_center", "email", "chat", "survey", "billing", "product", "social", "app_store", "ivr", "orders",
                       "internal_survey"}
    records = sum(f["records"] for f in truth["files"].values())
    malformed = sum(f["malformed"] for f in truth["files"].values())
    duplicates = sum(f["duplicates"] for f in truth["files"].values())
    assert 0.005 < malformed / records < 0.02
    assert duplicates > 0
    gz = [name for name in truth["files"] if name.endswith(".gz")]
    assert gz and gzip.open(tmp_path / gz[0]).readline().startswith(b"{")
    page = json.loads((tmp_path / "email" / "tickets-0001.json").read_text())
    assert {"tickets", "users", "count"} <= set(page)
    header = (tmp_path / "call_center" / "contacts-0001.csv").read_text().splitlines()[0]
    assert header.startswith("ContactId,CustomerAccount,CallerPhone,InitiationTimestamp")
    offsets = {line[line.index('"timestamp":"') + 13:].split('"')[0][-6:]
               for line in (tmp_path / "web" / "events-0001.jsonl").read_text().splitlines()[:400] if '"timestamp":"' in line}
    assert {"+05:30", "-05:00", "+02:00"} <= offsets  # mixed timezone offsets
    # the truth counts what is in the files: one record per line of every JSON Lines file
    lines = {name: sum(1 for line in (tmp_path / name).read_text().splitlines() if line.strip())
             for name in truth["files"] if name.endswith(".jsonl")}
    assert len(lines) >= 6 and lines == {name: truth["files"][name]["records"] for name in lines}
    reviews = json.loads((tmp_path / "app_store" / "reviews-0001.json").read_text())
    assert reviews["data"][0]["type"] == "customerReviews" and "rating" in reviews["data"][0]["attributes"]
    flows = (tmp_path / "ivr" / "flows-0001.csv").read_text()
    assert flows.startswith("CallId,CallerNumber,AccountNumber") and "AbandonedInQueue" in flows
    orders = [json.loads(line) for line in (tmp_path / "orders" / "webhooks-0001.jsonl").read_text().splitlines() if line.endswith("}}")]
    assert {"orders/create", "fulfillments/update", "orders/fulfilled"} <= {o.get("topic") for o in orders}
    assert any(o.get("payload", {}).get("shipment_status") == "delayed" for o in orders)
    forms = (tmp_path / "internal_survey" / "responses-0001.csv").read_text().splitlines()
    assert forms[0].startswith("Timestamp,Your role,Your team,How easy do we make it for customers to deal with us? [Looking & Deciding]")
    assert {"Leadership team", "Customer-facing staff"} <= {line.split(",")[1] for line in forms[1:]}
    product = (tmp_path / "product" / "export-0001.jsonl").read_text()
    assert '"event_type":"Feature Used"' in product and '"error_message"' in product


@pytest.mark.slow
def test_memory_does_not_grow_with_customers(tmp_path):
    def peak(customers):
        tracemalloc.start()
        generate(tmp_path / str(customers), customers, seed=1, records_per_file=200)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top
    small, large = peak(500), peak(2000)  # both fill whole ticket pages; 4x the customers
    # Only the truth's PII list grows (under 100 bytes a customer), plus whichever gzip writers happen to be
    # open at the end; keeping customers' records would add kilobytes per customer.
    assert large - small < 500_000
