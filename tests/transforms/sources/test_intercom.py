import json
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources.intercom import CHAT
from transforms.sources.zendesk_chat import CHATS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "chat"
ADAPTERS = (CHAT, CHATS)  # the chat folder's adapters, in order

CONVERSATION = {
    "type": "conversation", "id": "9001", "created_at": 1770744152, "updated_at": 1770744752, "state": "closed",
    "source": {"type": "conversation", "delivered_as": "customer_initiated", "body": "<p>does it work with Slack?</p>",
               "author": {"type": "user", "id": "ic1", "email": "c1@fastmail.com"}},
    "contacts": {"contacts": [{"id": "ic1", "external_id": "C1"}]},
    "conversation_parts": {"conversation_parts": [
        {"part_type": "assignment", "body": None, "author": {"type": "admin", "id": "adm-1"}, "created_at": 1770744212},
        {"part_type": "comment", "body": "<p>Yes it does</p>", "author": {"type": "admin", "id": "adm-2"}, "created_at": 1770744272},
        {"part_type": "close", "body": None, "author": {"type": "admin", "id": "adm-2"}, "created_at": 1770744752},
    ]},
    "conversation_rating": {"rating": 4},
}
# A custom bot opened it; the customer answered in a part.
BOT_OPENED = dict(CONVERSATION, id="9002", conversation_rating=None, contacts={"contacts": [{"id": "ic9"}]},
                  source={"type": "conversation", "delivered_as": "operator_initiated", "body": "<p>Hi! How can we help?</p>",
                          "author": {"type": "bot", "id": "b1"}},
                  conversation_parts={"conversation_parts": [
                      {"part_type": "comment", "body": "<p>I can&#39;t log in</p>", "author": {"type": "lead", "id": "ic9"},
                       "created_at": 1770744160},
                      {"part_type": "comment", "body": "<p>Try resetting your password.</p>", "author": {"type": "bot", "id": "b1"},
                       "created_at": 1770744170}]})
# An admin's message nobody answered: not a contact, and its body is not the customer's words.
OUTBOUND = dict(CONVERSATION, id="9005", state="open", conversation_rating=None,
                source={"type": "conversation", "delivered_as": "admin_initiated", "body": "<p>Your plan renews soon</p>",
                        "author": {"type": "admin", "id": "adm-1"}},
                conversation_parts={"conversation_parts": []})
SAMPLE_CHAT = "\n".join([
    json.dumps(CONVERSATION),
    json.dumps(BOT_OPENED),
    json.dumps({k: v for k, v in CONVERSATION.items() if k != "created_at"} | {"id": "9003"}),
    json.dumps(CONVERSATION | {"id": "9004", "created_at": "yesterday afternoon"}),
    json.dumps(OUTBOUND),
]) + "\n"


def test_conversations_map_parts_to_wait_transfers_and_rating(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "chat", "conversations.jsonl", SAMPLE_CHAT), ADAPTERS)
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(rows) == ["chat:9001", "chat:9002", "chat:9005"]
    chat = rows["chat:9001"]
    assert chat["text"] == "does it work with Slack?"  # HTML stripped
    # Wait runs to the first admin comment (an assignment is no reply); the one assignment routed it, no transfer.
    assert (chat["wait_seconds"], chat["handle_seconds"], chat["transfers"], chat["csat"]) == (120, 600, 0, 4)
    assert chat["agent_id"] == "adm-2" and chat["source_code"] == "closed"
    assert chat["source_customer_ref"] == "account:C1" and chat["linked_refs"][0] == "intercom_contact:ic1"
    assert chat["linked_refs"][1].startswith("email:")
    bot = rows["chat:9002"]
    assert (bot["channel_type"], bot["interaction_type"], bot["text"]) == ("automated", "chat_conversation", "I can't log in")
    assert bot["source_customer_ref"] == "intercom_contact:ic9"
    outbound = rows["chat:9005"]
    assert (outbound["interaction_type"], outbound["text"], outbound["handle_seconds"]) == ("outbound_message", None, None)


def test_conversation_failures(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "chat", "conversations.jsonl", SAMPLE_CHAT), ADAPTERS)
    assert failures(parsed) == [(3, "missing_field"), (4, "invalid_timestamp")]


def test_single_conversation_as_the_api_returns_it(con):
    parsed = parse_with(con, FIXTURES / "intercom-conversation.json", ADAPTERS)
    assert failures(parsed) == []
    (row,) = parsed.good.to_pylist()
    assert (row["interaction_id"], row["interaction_type"], row["channel_type"], row["source_line"]) == \
        ("chat:215471234567891", "chat_conversation", "assisted", 1)
    assert row["occurred_at"].isoformat() == "2026-03-02T09:14:05+00:00"
    # every customer turn, in order, so the reason comes from all the customer said (entities decoded)
    assert row["text"] == ("Hi, I was charged twice for my March invoice & can't find the refund.\n"
                           "Thanks. It's the charge on 1 March, 49.00 EUR twice.\nGreat, thank you!")
    assert (row["wait_seconds"], row["handle_seconds"], row["transfers"], row["csat"]) == (212, 700, 1, 4)
    assert (row["agent_id"], row["team"], row["source_code"], row["record_version"]) == ("991267", "5017691", "closed", 1772443550)
    assert row["source_customer_ref"] == "account:7712"
    assert row["linked_refs"][0] == "intercom_contact:65e1f0c2a7b3d40012345678" and row["linked_refs"][1].startswith("email:")
    attributes = json.loads(row["attributes"])
    assert attributes["custom_attributes"] == {"Issue type": "Billing"} and "conversation_parts" not in attributes


def test_list_page_without_parts(con):
    parsed = parse_with(con, FIXTURES / "intercom-conversations-page.json", ADAPTERS)
    assert failures(parsed) == []
    rows = {r["interaction_id"].removeprefix("chat:"): r for r in parsed.good.to_pylist()}
    key = ("source_line", "interaction_type", "channel_type", "source_code", "wait_seconds", "handle_seconds", "transfers", "text")
    assert {i: tuple(r[k] for k in key) for i, r in rows.items()} == {
        "215471234567892": (4, "chat_conversation", "assisted", "open", 95, None, 0,
                            "Does the Pro plan include SSO? We need it for 40 seats."),
        "215471234567893": (97, "outbound_message", "automated", "closed", None, None, 0, None),
        "215471234567894": (181, "chat_conversation", "automated", "closed", None, 130, 0, None),  # the bot's words are not the customer's
        "215471234567895": (269, "ticket", "assisted", "snoozed", 1800, None, 1,
                            "Hello, The CSV export has been failing since Monday. Regards, Tom"),
    }
    assert rows["215471234567892"]["source_customer_ref"] == "intercom_contact:65f2a9d1c4e8b70023456789"
    assert rows["215471234567892"]["linked_refs"][0].startswith("email:")


def test_webhook_notifications_are_versions_of_one_conversation(con):
    parsed = parse_with(con, FIXTURES / "intercom-webhooks.jsonl", ADAPTERS)
    # conversation.deleted carries only the conversation's id
    assert failures(parsed) == [(4, "missing_field")]
    rows = parsed.good.to_pylist()
    assert {r["interaction_id"] for r in rows} == {"chat:215471234567896"}
    latest = max(rows, key=lambda r: r["record_version"])
    assert (latest["source_line"], latest["source_code"], latest["wait_seconds"], latest["handle_seconds"]) == (3, "closed", 240, 900)
    assert latest["text"] == "The Export to CSV button does nothing in Safari 17."
    assert [r["record_version"] for r in rows] == [1773147764, 1773148064, 1773148664]
