import json

from tests.conftest import failures, parse_file, write

TICKET = {"id": 101, "created_at": "2026-03-28T07:46:02Z", "updated_at": "2026-03-28T09:00:00Z", "subject": "Bill",
          "description": "I was charged twice", "status": "new", "requester_id": 360001, "assignee_id": 77,
          "group_id": 5, "tags": ["billing"], "via": {"channel": "email"}, "priority": "high"}
SAMPLE_PAGE = json.dumps({
    "tickets": [
        TICKET,
        dict(TICKET, status="solved", updated_at="2026-03-30T10:00:00Z"),
        dict(TICKET, id=102, requester_id=360002, created_at="31/02/2026 25:61"),
        {k: v for k, v in TICKET.items() if k != "requester_id"} | {"id": 103},
        dict(TICKET, id=104, requester_id=360009),
    ],
    "users": [{"id": 360001, "email": "a@example.net", "external_id": "C1"}],
    "next_page": None,
    "count": 5,
})


def test_tickets_map_and_link_requesters_through_side_loaded_users(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "email", "tickets.json", SAMPLE_PAGE), "email")
    rows = parsed.good.to_pylist()
    assert [(r["interaction_id"], r["source_line"], r["source_code"]) for r in rows] == [
        ("email:101", 1, "new"), ("email:101", 2, "solved"), ("email:104", 5, "new")]
    first = rows[0]
    assert first["source_customer_ref"] == "account:C1" and first["linked_refs"] == ["zendesk_user:360001", "email:blocked"]  # example.net is a test domain
    assert first["text"] == "I was charged twice" and first["source_reason"] == "billing"
    assert first["agent_id"] == "77" and first["team"] == "5"
    assert rows[1]["record_version"] > rows[0]["record_version"]  # the later update supersedes
    assert rows[2]["source_customer_ref"] == "zendesk_user:360009" and rows[2]["linked_refs"] == []
    assert '"priority":"high"' in first["attributes"]


def test_ticket_failures(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "email", "tickets.json", SAMPLE_PAGE), "email")
    assert failures(parsed) == [(3, "invalid_timestamp"), (4, "missing_field")]


def test_a_broken_document_is_one_failed_record(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "email", "tickets.json", SAMPLE_PAGE[:200]), "email")
    assert parsed.good.num_rows == 0
    assert failures(parsed) == [(1, "malformed_json")]
    assert parsed.failed["error_message"][0].as_py().startswith("document is not valid JSON")


def test_a_document_without_tickets_is_one_failed_record(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "email", "tickets.json", '{"users": []}'), "email")
    assert failures(parsed) == [(1, "missing_field")]
