import json
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources.intercom import CHAT
from transforms.sources.zendesk_chat import CHATS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "chat"
ADAPTERS = (CHAT, CHATS)  # the chat folder's adapters, in order


def test_incremental_export_page(con):
    parsed = parse_with(con, FIXTURES / "zendesk-chat-incremental.json", ADAPTERS)
    assert failures(parsed) == []
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    key = ("source_line", "interaction_type", "source_code", "wait_seconds", "handle_seconds", "transfers", "csat",
           "agent_id", "team", "case_id")
    assert {i: tuple(r[k] for k in key) for i, r in rows.items()} == {
        "chat:2603.10414779.Su8xYbLqL2Gp7": (3, "chat_conversation", "zendesk_chat:served", 38, 1011, 0, 5,
                                             "361089721035", "Billing", "email:48213"),
        "chat:2603.10414779.Su9AbCdEfGh12": (172, "chat_conversation", "zendesk_chat:missed", 240, None, 0, None,
                                             None, None, "chat:2603.10414779.Su9AbCdEfGh12"),
        "chat:2603.10414779.SuAo7fLn3Wq9d": (261, "ticket", "zendesk_chat:offline_msg", None, None, None, None,
                                             None, "Billing", "email:48230"),
        "chat:2603.10414779.SuBx7Rt0Qm3Ka": (296, "chat_conversation", "zendesk_chat:served", 125, 1693, 1, None,
                                             "360786799676", "Technical Support", "chat:2603.10414779.SuBx7Rt0Qm3Ka"),
    }
    served = rows["chat:2603.10414779.Su8xYbLqL2Gp7"]
    assert served["text"] == "Hi, my invoice shows VAT twice\nIt's invoice INV-2041 from March\nGot it, thanks!"
    assert served["occurred_at"].isoformat() == "2026-03-03T14:02:11+00:00"
    assert served["source_customer_ref"] == "zendesk_chat_visitor:10414779.1Bsdf3kLw2Xq"
    assert [ref.split(":")[0] for ref in served["linked_refs"]] == ["email", "phone"]
    assert json.loads(served["attributes"])["comment"] == "Fast and friendly"
    missed = rows["chat:2603.10414779.Su9AbCdEfGh12"]
    assert missed["linked_refs"] == [] and missed["text"].endswith("hello?")  # no email or phone given
    assert rows["chat:2603.10414779.SuAo7fLn3Wq9d"]["text"].startswith("Please call me back")


def test_a_later_export_of_a_chat_supersedes_it(con):
    first = parse_with(con, FIXTURES / "zendesk-chat-incremental.json", ADAPTERS).good.to_pylist()
    (later,) = parse_with(con, FIXTURES / "zendesk-chat-incremental-page2.json", ADAPTERS).good.to_pylist()
    (earlier,) = [r for r in first if r["interaction_id"] == later["interaction_id"]]
    assert later["record_version"] > earlier["record_version"]
    assert (earlier["csat"], later["csat"]) == (None, 1)


def test_pages_without_fields_expansion_fail(con):
    parsed = parse_with(con, FIXTURES / "zendesk-chat-incremental-ids-only.json", ADAPTERS)
    assert failures(parsed) == [(3, "missing_field"), (6, "missing_field")]
    assert "fields=chats(*)" in parsed.failed["error_message"][0].as_py()


def test_a_chat_the_visitor_never_wrote_in_is_outbound(tmp_path, con):
    proactive = {"id": "2603.1.X", "type": "chat", "started_by": "trigger", "timestamp": "2026-03-03T10:00:00Z",
                 "visitor": {"id": "1.2", "email": ""}, "count": {"visitor": 0, "agent": 0, "total": 1},
                 "history": [{"type": "chat.msg", "nick": "agent:trigger", "msg": "Need help checking out?"}]}
    (row,) = parse_with(con, write(tmp_path, "chat", "chats.jsonl", json.dumps(proactive) + "\n"), ADAPTERS).good.to_pylist()
    assert (row["interaction_type"], row["text"]) == ("outbound_message", None)
