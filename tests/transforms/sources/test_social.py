import json

from tests.conftest import failures, parse_file, write

MENTION = {"id": "1789", "date": "2026-03-02T10:15:00.000+0000", "pageType": "twitter", "author": "Jo_K", "fullname": "Jo K",
           "fullText": "third call this week and still no refund @acme", "sentiment": "negative", "url": "https://x.example/1"}
SAMPLE_MENTIONS = "\n".join(json.dumps(m) for m in [
    MENTION,
    dict(MENTION, id="1790", author="jo_k", matchedAccount="C1", fullText="", snippet="love the new reports"),
    dict(MENTION, id="1791", date="yesterday"),
    {k: v for k, v in MENTION.items() if k != "author"} | {"id": "1792"},
]) + "\n"


def test_mentions_keep_handles_only_as_hashes(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "social", "mentions.jsonl", SAMPLE_MENTIONS), "social")
    first, matched = parsed.good.to_pylist()
    assert first["channel_type"] == "community" and first["interaction_type"] == "mention"
    assert first["source_customer_ref"].startswith("social:") and "jo_k" not in first["source_customer_ref"].lower()
    assert "Jo_K" not in first["attributes"] and "Jo K" not in first["attributes"]
    assert (first["text"], first["source_code"], first["source_reason"]) == (MENTION["fullText"], "twitter", "negative")
    # The same handle, any case, hashes alike; a CRM match links it to the account.
    assert matched["source_customer_ref"] == "account:C1" and matched["linked_refs"] == [first["source_customer_ref"]]
    assert matched["text"] == "love the new reports"
    assert failures(parsed) == [(3, "invalid_timestamp"), (4, "missing_field")]
