"""The collector: each endpoint's authentication and rejections, durable landing files, and events posted
by the tools' own documented shapes (our vendor fixtures) reaching the lake through the batch job."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from pipelines.collect import CollectorConfig, Rejected, create_app, recover_open_files, verify_stripe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
WRITE_KEY = "wk_test_123"
STRIPE_SECRET = "whsec_test_secret"
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
INTERCOM_SECRET = "intercom-client-secret"
TOKEN = "tok_generic"


def config(tmp_path, **overrides) -> CollectorConfig:
    return CollectorConfig(input_root=tmp_path / "raw", segment_write_keys=frozenset({WRITE_KEY}), stripe_secrets=(STRIPE_SECRET,),
                           zendesk_secret=ZENDESK_SECRET, intercom_secret=INTERCOM_SECRET, bearer_tokens=frozenset({TOKEN}),
                           folders=frozenset({"web", "billing", "chat", "email", "survey"}), **overrides)


def basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def stripe_header(body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> dict:
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={at},v1={signature}"}


def landed(root: Path, folder: str) -> list[bytes]:
    """The lines of the closed landing files of a folder (what the batch job reads)."""
    files = sorted((root / folder).glob("collect-*.jsonl"))
    assert not list((root / folder).glob(".collect-*")), "a landing file was left open"
    return [line for path in files for line in path.read_bytes().splitlines()]


def test_segment_calls_need_a_known_write_key(tmp_path):
    track = {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m-1", "timestamp": "2026-03-02T00:30:12Z"}
    with TestClient(create_app(config(tmp_path))) as client:
        assert client.post("/v1/track", json=track, headers=basic(WRITE_KEY)).status_code == 200
        assert client.post("/v1/track", json=track | {"messageId": "m-2", "writeKey": WRITE_KEY}).status_code == 200
        untyped = {k: v for k, v in track.items() if k != "type"} | {"messageId": "m-3"}  # the HTTP API's docs send no type
        assert client.post("/v1/track", json=untyped, headers=basic(WRITE_KEY)).status_code == 200
        assert client.post("/v1/page", json=track, headers=basic(WRITE_KEY)).status_code == 400  # a track call sent as a page
        wrong = client.post("/v1/track", json=track, headers=basic("wk_other"))
        assert wrong.status_code == 401 and wrong.json()["error"] == "bad_write_key"
        assert client.post("/v1/track", json=track).status_code == 401
        batch = json.loads((FIXTURES / "web" / "segment-http-api-batch.json").read_bytes())
        assert client.post("/v1/batch", json=batch, headers=basic(WRITE_KEY)).status_code == 200
        assert client.post("/v1/batch", json={"batch": "x"}, headers=basic(WRITE_KEY)).status_code == 400
        assert client.post("/v1/trackx", json=track, headers=basic(WRITE_KEY)).status_code == 404
        metrics = client.get("/metrics").text
    lines = landed(tmp_path / "raw", "web")
    assert [json.loads(line).get("messageId") for line in lines[:3]] == ["m-1", "m-2", "m-3"]
    assert json.loads(lines[2]) == untyped | {"type": "track"}
    assert json.loads(lines[3]) == batch
    assert 'cx_collect_rejected_requests_total{endpoint="segment_track",reason="bad_write_key"} 2.0' in metrics
    assert 'cx_collect_accepted_events_total{endpoint="segment_batch"} ' + f"{len(batch['batch'])}.0" in metrics


def test_oversized_and_malformed_bodies_are_refused_with_the_reason(tmp_path):
    with TestClient(create_app(config(tmp_path))) as client:
        big = {"type": "track", "userId": "u1", "event": "x", "properties": {"blob": "a" * 40_000}}
        too_large = client.post("/v1/track", json=big, headers=basic(WRITE_KEY))
        assert too_large.status_code == 413 and too_large.json()["error"] == "too_large"
        broken = client.post("/v1/track", content=b'{"type": "track", "userId": ', headers=basic(WRITE_KEY) | {"Content-Type": "application/json"})
        assert broken.status_code == 400 and "Expecting value" in broken.json()["message"]
        listed = client.post("/v1/events/survey", content=b"[1, 2]", headers={"Authorization": f"Bearer {TOKEN}"})
        assert listed.status_code == 400 and "not an object" in listed.json()["message"]
        metrics = client.get("/metrics").text
    for endpoint, reason in (("segment_track", "too_large"), ("segment_track", "malformed_json"), ("events", "malformed_json")):
        assert f'cx_collect_rejected_requests_total{{endpoint="{endpoint}",reason="{reason}"}} 1.0' in metrics
    assert not list((tmp_path / "raw").glob("*/collect-*"))


def test_stripe_signatures_as_stripe_signs_them(tmp_path):
    body = (FIXTURES / "billing" / "stripe-webhook-dispute.json").read_bytes()
    with TestClient(create_app(config(tmp_path))) as client:
        assert client.post("/webhooks/stripe", content=body, headers=stripe_header(body)).status_code == 200
        forged = client.post("/webhooks/stripe", content=body, headers=stripe_header(body, secret="whsec_other"))
        assert forged.status_code == 401 and forged.json()["error"] == "bad_signature"
        tampered = client.post("/webhooks/stripe", content=body.replace(b"12000", b"12001"), headers=stripe_header(body))
        assert tampered.status_code == 401
        stale = client.post("/webhooks/stripe", content=body, headers=stripe_header(body, at=int(time.time()) - 301))
        assert stale.status_code == 401 and stale.json()["error"] == "stale_timestamp"
        assert client.post("/webhooks/stripe", content=body, headers={}).status_code == 401
    # the body is landed byte for byte (Stripe's pretty-printed JSON becomes one line, the same value)
    [line] = landed(tmp_path / "raw", "billing")
    assert json.loads(line) == json.loads(body)


def test_stripe_signature_with_several_v1_during_a_secret_rotation():
    body, at = b'{"id": "evt_1"}', int(time.time())
    good = hmac.new(STRIPE_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    verify_stripe(body, f"t={at},v1={'0' * 64},v1={good},v0=ignored", (STRIPE_SECRET,), time.time())
    with pytest.raises(Rejected, match="no v1"):
        verify_stripe(body, f"t={at},v0={good}", (STRIPE_SECRET,), time.time())


def test_zendesk_and_intercom_webhook_signatures(tmp_path):
    ticket = json.dumps({"ticket": {"id": 35436, "subject": "Help, my printer is on fire!"}}).encode()
    stamp = "2026-03-02T10:15:00Z"
    zendesk = base64.b64encode(hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + ticket, hashlib.sha256).digest()).decode()
    notification = (FIXTURES / "chat" / "intercom-webhooks.jsonl").read_bytes().splitlines()[0]
    intercom = "sha1=" + hmac.new(INTERCOM_SECRET.encode(), notification, hashlib.sha1).hexdigest()
    with TestClient(create_app(config(tmp_path))) as client:
        headers = {"X-Zendesk-Webhook-Signature": zendesk, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
        assert client.post("/webhooks/zendesk", content=ticket, headers=headers).status_code == 200
        wrong_stamp = headers | {"X-Zendesk-Webhook-Signature-Timestamp": "2026-03-02T10:15:01Z"}
        assert client.post("/webhooks/zendesk", content=ticket, headers=wrong_stamp).status_code == 401
        assert client.post("/webhooks/intercom", content=notification, headers={"X-Hub-Signature": intercom}).status_code == 200
        assert client.post("/webhooks/intercom", content=notification + b" ", headers={"X-Hub-Signature": intercom}).status_code == 401
    assert landed(tmp_path / "raw", "email") == [ticket]
    assert landed(tmp_path / "raw", "chat") == [notification]


def test_the_generic_endpoint_needs_a_bearer_token_and_a_known_folder(tmp_path):
    with TestClient(create_app(config(tmp_path))) as client:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/v1/events/survey", json={"id": 1}, headers=bearer).status_code == 200
        assert client.post("/v1/events/survey", json={"id": 1}, headers={"Authorization": "Bearer nope"}).status_code == 401
        unknown = client.post("/v1/events/../../etc", json={"id": 1}, headers=bearer)
        assert unknown.status_code == 404
        assert client.post("/v1/events/nowhere", json={"id": 1}, headers=bearer).json()["error"] == "unknown_touchpoint"
    assert landed(tmp_path / "raw", "survey") == [b'{"id":1}']
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["survey"]


def test_a_sender_over_its_rate_gets_429_with_retry_after(tmp_path):
    with TestClient(create_app(config(tmp_path, rate_per_key=0.5, burst_per_key=2))) as client:
        codes = [client.post("/v1/events/web", json={"i": i}, headers={"Authorization": f"Bearer {TOKEN}"}) for i in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[2].headers["Retry-After"]) >= 1


def test_an_endpoint_without_its_secret_is_not_offered(tmp_path):
    bare = CollectorConfig(input_root=tmp_path / "raw", bearer_tokens=frozenset({TOKEN}), folders=frozenset({"web"}))
    with TestClient(create_app(bare)) as client:
        assert client.post("/webhooks/stripe", content=b"{}").status_code == 404
        assert client.post("/v1/track", json={"userId": "u"}).status_code == 404
        assert client.get("/health").json()["status"] == "ok"


def test_files_rotate_and_a_killed_collectors_open_file_is_closed_whole(tmp_path):
    with TestClient(create_app(config(tmp_path, rotate_bytes=50))) as client:  # a file per line
        for i in range(5):
            assert client.post("/v1/events/web", json={"i": i, "pad": "x" * 60}, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    closed = sorted((tmp_path / "raw" / "web").glob("collect-*.jsonl"))
    assert len(closed) == 5 and [json.loads(p.read_bytes())["i"] for p in closed] == list(range(5))
    # what kill -9 leaves: an open (hidden) file whose last line was being written
    left = tmp_path / "raw" / "web" / ".collect-20260302T101500-host-99-00001.jsonl"
    left.write_bytes(b'{"i": 10}\n{"i": 11}\n{"i": 1')
    assert recover_open_files(tmp_path / "raw") == [left.with_name(left.name[1:])]
    assert left.with_name(left.name[1:]).read_bytes() == b'{"i": 10}\n{"i": 11}\n'
    assert not left.exists()


@pytest.mark.slow
def test_events_posted_to_the_collector_reach_the_marts_through_the_watcher(tmp_path, capsys):
    """The tools' documented bodies (our vendor fixtures) posted as the tools post them, the watcher's next
    cycle ingests and builds, and every record the fixtures' expectations name is in the interactions mart;
    the cycle after finds nothing new."""
    from pipelines.cli import main
    from pipelines.warehouse import open_warehouse

    posted = {"web": ["segment-analytics-go-batch.json", "segment-http-api-batch.json"], "billing": ["stripe-webhook-dispute.json"],
              "chat": ["intercom-webhooks.jsonl"]}
    with TestClient(create_app(config(tmp_path))) as client:
        for name in posted["web"]:
            assert client.post("/v1/batch", content=(FIXTURES / "web" / name).read_bytes(), headers=basic(WRITE_KEY)).status_code == 200
        track = (FIXTURES / "web" / "segment-spec-track.json").read_bytes()
        assert client.post("/v1/track", content=track, headers=basic(WRITE_KEY)).status_code == 200
        body = (FIXTURES / "billing" / posted["billing"][0]).read_bytes()
        assert client.post("/webhooks/stripe", content=body, headers=stripe_header(body)).status_code == 200
        # a Zendesk trigger whose JSON body is the ticket's fields, as the Tickets API names them
        ticket = json.dumps({"id": 35436, "status": "open", "subject": "Printer on fire", "requester_id": 20978392,
                             "description": "My printer is on fire and nobody answers", "created_at": "2026-03-02T10:15:00Z",
                             "updated_at": "2026-03-02T10:15:00Z"}).encode()
        stamp = "2026-03-02T10:15:01Z"
        signature = base64.b64encode(hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + ticket, hashlib.sha256).digest()).decode()
        assert client.post("/webhooks/zendesk", content=ticket, headers={
            "X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}).status_code == 200
        for line in (FIXTURES / "chat" / posted["chat"][0]).read_bytes().splitlines():
            signature = "sha1=" + hmac.new(INTERCOM_SECRET.encode(), line, hashlib.sha1).hexdigest()
            assert client.post("/webhooks/intercom", content=line, headers={"X-Hub-Signature": signature}).status_code == 200
    warehouse = tmp_path / "warehouse"
    assert main(["run", "--input", str(tmp_path / "raw"), "--warehouse", str(warehouse), "--watch", "0", "--watch-cycles", "2"]) == 0
    out = capsys.readouterr().out
    assert "run " in out and "nothing new" in out.splitlines()[-1] and "freshness: " in out
    # the records the fixtures' expectations name for these bodies: every web call, the dispute, the conversation;
    # and the ticket
    segment = yaml.safe_load((FIXTURES.parent / "expected" / "segment.yml").read_text())["records"]
    expected = {rid for rid in segment if rid.startswith("web:")} | {"billing:evt_1QzPbXLkdIwHu7ixVt9rkT3o", "chat:215471234567896",
                                                                       "email:35436"}
    for vendor in ("stripe", "intercom"):
        assert set(expected) & set(yaml.safe_load((FIXTURES.parent / "expected" / f"{vendor}.yml").read_text())["records"])
    con = open_warehouse(warehouse / "cx.duckdb")
    ids = {i for (i,) in con.sql("select interaction_id from interactions").fetchall()}
    con.close()
    assert expected and expected <= ids, expected - ids


def test_bad_collect_and_watch_command_lines_get_one_line(tmp_path, capsys, monkeypatch):
    from pipelines.cli import main

    for name in ("CX_COLLECT_SEGMENT_WRITE_KEYS", "CX_COLLECT_STRIPE_SECRETS", "CX_COLLECT_ZENDESK_SECRET",
                 "CX_COLLECT_INTERCOM_SECRET", "CX_COLLECT_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["collect", "--input", str(tmp_path / "raw")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["run", "--input", str(tmp_path / "raw"), "--watch", "5", "--sample"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--watch runs incrementally" in err


def test_a_write_the_disk_refuses_is_503_and_never_acknowledged(tmp_path, monkeypatch):
    import errno
    import os

    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with TestClient(create_app(config(tmp_path))) as client:
        monkeypatch.setattr(os, "write", full)
        refused = client.post("/v1/events/web", json={"i": 1}, headers={"Authorization": f"Bearer {TOKEN}"})
        monkeypatch.setattr(os, "write", real_write)
        assert refused.status_code == 503 and refused.json()["error"] == "not_stored" and "No space left" in refused.json()["message"]
        assert client.post("/v1/events/web", json={"i": 2}, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert [json.loads(line)["i"] for line in landed(tmp_path / "raw", "web")] == [2]
