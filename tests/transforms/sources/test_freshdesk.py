from tests.conftest import failures, parse_with
from tests.transforms.sources.test_zendesk import EMAIL, FIXTURES, keyed


def test_a_ticket_list_maps_tickets_and_their_requesters(con):
    parsed = parse_with(con, FIXTURES / "freshdesk-tickets.json", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "interaction_type", "occurred_at", "source_code", "agent_id") == [
        ("email:freshdesk:20", 2, "ticket", "2026-03-09T11:56:51+00:00", "freshdesk:2", None),
        ("email:freshdesk:21", 38, "ticket", "2026-03-09T14:20:00+00:00", "freshdesk:4", "43009876543"),
        ("email:freshdesk:22", 70, "outbound_email", "2026-03-11T08:00:00+00:00", "freshdesk:5", "43009876543"),
    ]
    described, listed, outbound = parsed.good.to_pylist()
    assert described["text"] == "When I click Export > PDF nothing happens. The CSV export still works."
    assert listed["text"] == "Refund for order A-1001"  # listed without include=description: the subject
    assert outbound["text"] is None  # an agent's outbound email holds no customer words
    assert described["source_customer_ref"] == "freshdesk_contact:43021345678" and described["case_id"] == "email:freshdesk:20"
    assert [ref.split(":")[0] for ref in described["linked_refs"]] == ["email", "phone"] and listed["linked_refs"] == []
    assert (described["source_reason"], listed["source_reason"], described["team"]) == ("Problem", "Refund", "43000612001")
    assert '"source":2' in described["attributes"] and '"cf_plan":"Growth"' in described["attributes"]
    assert '"requester"' not in described["attributes"]
    assert failures(parsed) == [(104, "missing_field")]


def test_an_updated_ticket_supersedes_its_earlier_version(con):
    parsed = parse_with(con, FIXTURES / "freshdesk-tickets-airbyte.jsonl", EMAIL)
    opened, resolved = parsed.good.to_pylist()
    assert opened["interaction_id"] == resolved["interaction_id"] == "email:freshdesk:30"
    assert (opened["source_code"], resolved["source_code"]) == ("freshdesk:2", "freshdesk:4")
    assert resolved["record_version"] > opened["record_version"]
    assert failures(parsed) == []


def test_conversations_keep_only_the_customers_incoming_public_words(con):
    parsed = parse_with(con, FIXTURES / "freshdesk-conversations.json", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "source_customer_ref", "agent_id", "text") == [
        ("email:freshdesk_conversation:43100000001", 2, "freshdesk_contact:43021345678", None,
         "Any update? I need the PDF for a board meeting on Friday."),
        ("email:freshdesk_conversation:43100000002", 31, None, "43009876543", None),  # a private note
        ("email:freshdesk_conversation:43100000003", 52, None, "43009876543", None),  # the agent's reply
    ]
    reply = parsed.good.to_pylist()[0]
    assert reply["case_id"] == "email:freshdesk:20" and reply["interaction_type"] == "ticket_comment"
    assert len(reply["linked_refs"]) == 1 and reply["linked_refs"][0].startswith("email:")
    assert failures(parsed) == [(73, "missing_field")]


def test_each_record_finds_its_adapter_whatever_the_order_of_the_folders_adapters(con):
    for path in sorted(FIXTURES.iterdir()):
        forward, backward = parse_with(con, path, EMAIL), parse_with(con, path, EMAIL[::-1])
        assert sorted(keyed(forward, "interaction_id", "source_line")) == sorted(keyed(backward, "interaction_id", "source_line")), path.name
        assert failures(forward) == failures(backward), path.name


def test_a_ticket_with_stats_gives_its_first_response_and_resolution_times(con, tmp_path):
    import json

    ticket = {"id": 40, "created_at": "2026-03-09T12:00:00Z", "updated_at": "2026-03-10T09:00:00Z", "requester_id": 43021345678,
              "status": 4, "source": 1, "subject": "Invoice shows VAT twice", "description_text": "My invoice shows VAT twice",
              "stats": {"agent_responded_at": "2026-03-09T12:30:00Z", "requester_responded_at": None,
                        "first_responded_at": "2026-03-09T12:30:00Z", "status_updated_at": "2026-03-10T09:00:00Z",
                        "reopened_at": None, "resolved_at": "2026-03-10T09:00:00Z", "closed_at": None, "pending_since": None}}
    still_open = dict(ticket, id=41, status=2, stats={"first_responded_at": None, "resolved_at": None, "closed_at": None})
    path = tmp_path / "email" / "tickets-with-stats.json"
    path.parent.mkdir()
    garbled = dict(ticket, id=42, stats={"first_responded_at": "soon", "resolved_at": "yesterday-ish", "closed_at": None})
    path.write_text(json.dumps([ticket, still_open, garbled]))
    parsed = parse_with(con, path, EMAIL)
    resolved, waiting, unreadable = parsed.good.to_pylist()
    assert (resolved["wait_seconds"], resolved["handle_seconds"]) == (1800, 21 * 3600)
    assert (waiting["wait_seconds"], waiting["handle_seconds"]) == (None, None)  # unknown, not 0
    assert (unreadable["wait_seconds"], unreadable["handle_seconds"]) == (None, None) and failures(parsed) == []
