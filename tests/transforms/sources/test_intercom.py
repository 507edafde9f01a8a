import json

from tests.conftest import failures, parse_file, write

CONVERSATION = {
    "type": "conversation", "id": "9001", "created_at": 1770744152, "updated_at": 1770744752, "state": "closed",
    "source": {"type": "conversation", "body": "does it work with Slack?"},
    "contacts": {"contacts": [{"id": "ic1", "external_id": "C1"}]},
    "conversation_parts": {"conversation_parts": [
        {"part_type": "comment", "body": "does it work with Slack?", "author": {"type": "user", "id": "C1"}, "created_at": 1770744152},
        {"part_type": "assignment", "body": None, "author": {"type": "admin", "id": "adm-1"}, "created_at": 1770744212},
        {"part_type": "comment", "body": "Yes it does", "author": {"type": "admin", "id": "adm-2"}, "created_at": 1770744272},
        {"part_type": "close", "body": None, "author": {"type": "admin", "id": "adm-2"}, "created_at": 1770744752},
    ]},
    "conversation_rating": {"rating": 4},
}
BOT_ONLY = dict(CONVERSATION, id="9002", conversation_rating=None, contacts={"contacts": [{"id": "ic9"}]},
                conversation_parts={"conversation_parts": [
                    {"part_type": "comment", "body": "hi", "author": {"type": "bot", "id": "b"}, "created_at": 1770744160}]})
SAMPLE_CHAT = "\n".join([
    json.dumps(CONVERSATION),
    json.dumps(BOT_ONLY),
    json.dumps({k: v for k, v in CONVERSATION.items() if k != "created_at"} | {"id": "9003"}),
    json.dumps(CONVERSATION | {"id": "9004", "created_at": "yesterday afternoon"}),
]) + "\n"


def test_conversations_map_parts_to_wait_transfers_and_rating(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "chat", "conversations.jsonl", SAMPLE_CHAT), "chat")
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(rows) == ["chat:9001", "chat:9002"]
    chat = rows["chat:9001"]
    assert chat["text"] == "does it work with Slack?"
    assert (chat["wait_seconds"], chat["handle_seconds"], chat["transfers"], chat["csat"]) == (60, 600, 1, 4)
    assert chat["agent_id"] == "adm-1" and chat["source_code"] == "closed"
    assert chat["source_customer_ref"] == "account:C1" and chat["linked_refs"] == ["intercom_contact:ic1"]
    bot = rows["chat:9002"]
    assert bot["channel_type"] == "automated" and bot["source_customer_ref"] == "intercom_contact:ic9"


def test_conversation_failures(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "chat", "conversations.jsonl", SAMPLE_CHAT), "chat")
    assert failures(parsed) == [(3, "missing_field"), (4, "invalid_timestamp")]
