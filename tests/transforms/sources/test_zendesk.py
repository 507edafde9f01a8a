import json
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources import freshdesk, zendesk

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "email"
# The email/ folder's adapters, in the order of data/config/touchpoints.yml.
EMAIL = (zendesk.TICKETS, zendesk.COMMENTS, zendesk.SATISFACTION_RATINGS, zendesk.TICKET_METRICS,
         freshdesk.TICKETS, freshdesk.CONVERSATIONS)

TICKET = {"id": 101, "created_at": "2026-03-28T07:46:02Z", "updated_at": "2026-03-28T09:00:00Z", "subject": "Bill",
          "description": "I was charged twice", "status": "new", "requester_id": 360001, "assignee_id": 77,
          "group_id": 5, "tags": ["billing"], "via": {"channel": "email"}, "priority": "high"}
SAMPLE_PAGE = json.dumps({
    "tickets": [TICKET, dict(TICKET, id=104, requester_id=360009)],
    "users": [{"id": 360001, "email": "a@example.net", "external_id": "C1"}],
    "next_page": None,
    "count": 2,
}, indent=2)


def keyed(parsed, *columns):
    return [tuple(r[c].isoformat() if c == "occurred_at" else r[c] for c in columns) for r in parsed.good.to_pylist()]


def test_an_incremental_ticket_page_maps_tickets_and_links_requesters_through_side_loaded_users(con):
    parsed = parse_with(con, FIXTURES / "zendesk-tickets-incremental.json", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "occurred_at", "source_code", "agent_id", "team") == [
        ("email:35436", 3, "2026-03-02T09:14:07+00:00", "new", None, "98738"),
        ("email:35437", 38, "2026-03-03T16:40:12+00:00", "open", "235323", "98738"),
        ("email:35436", 73, "2026-03-02T09:14:07+00:00", "solved", "235323", "98738"),
    ]
    first, second, update = parsed.good.to_pylist()
    assert first["source_customer_ref"] == "account:C1042"
    assert first["linked_refs"][0] == "zendesk_user:20978392" and first["linked_refs"][1].startswith("email:")
    assert second["source_customer_ref"] == "zendesk_user:20978511" and len(second["linked_refs"]) == 1
    assert first["case_id"] == "email:35436" and first["interaction_type"] == "ticket" and first["channel_type"] == "assisted"
    assert first["text"].startswith("The fire is very colorful.") and first["source_reason"] == "firmware"
    assert update["record_version"] > first["record_version"]  # the export's re-delivery supersedes
    assert '"priority":"high"' in first["attributes"] and '"requester_id"' not in first["attributes"]
    assert failures(parsed) == [(108, "missing_field")]


def test_a_requester_without_side_loaded_user_or_with_a_test_address_links_nothing_personal(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "email", "tickets.json", SAMPLE_PAGE), EMAIL)
    first, second = parsed.good.to_pylist()
    assert first["source_customer_ref"] == "account:C1" and first["linked_refs"] == ["zendesk_user:360001", "email:blocked"]
    assert second["source_customer_ref"] == "zendesk_user:360009" and second["linked_refs"] == []


def test_a_broken_page_is_one_failed_record(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "email", "tickets.json", SAMPLE_PAGE[:200]), EMAIL)
    assert parsed.good.num_rows == 0
    assert failures(parsed) == [(1, "malformed_json")]


def test_an_object_that_is_no_ticket_is_unsupported(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "email", "tickets.json", '{"users": []}'), EMAIL)
    assert failures(parsed) == [(1, "unsupported_record")]


def test_airbyte_ticket_comments_keep_only_peoples_public_words(con):
    parsed = parse_with(con, FIXTURES / "zendesk-ticket-comments-airbyte.jsonl", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "source_customer_ref", "agent_id", "case_id") == [
        ("email:zendesk_comment:41250001", 2, "zendesk_user:20978511", None, "email:35437"),
        ("email:zendesk_comment:41250011", 3, None, "235323", "email:35437"),  # a private note: the agent's
        ("email:zendesk_comment:41250021", 4, "zendesk_user:235323", None, "email:35437"),  # an agent's public reply
        ("email:zendesk_comment:41250031", 6, "zendesk_user:20978511", None, "email:35437"),
    ]
    rows = parsed.good.to_pylist()
    assert rows[0]["text"].startswith("Hi, my March invoice shows two charges") and rows[1]["text"] is None
    assert {r["interaction_type"] for r in rows} == {"ticket_comment"}
    assert rows[3]["occurred_at"].isoformat() == "2026-03-04T08:02:55+00:00"
    assert '"html_body"' in rows[0]["attributes"] and '"audit_id":41250000' in rows[0]["attributes"]
    # streams we do not model fail as unsupported; Airbyte's LOG and STATE messages are no records
    assert failures(parsed) == [(5, "unsupported_record"), (7, "unsupported_record")]
    assert "ticket_metric_events" in parsed.failed["error_message"][0].as_py()


def test_comments_of_the_api_page_fail_for_want_of_their_ticket(con):
    parsed = parse_with(con, FIXTURES / "zendesk-ticket-comments-page.json", EMAIL)
    assert parsed.good.num_rows == 0
    assert failures(parsed) == [(3, "missing_field"), (20, "missing_field")]
    assert set(parsed.failed["error_message"].to_pylist()) == {"ticket_id is missing"}


def test_satisfaction_ratings_map_good_and_bad_onto_csat(con):
    parsed = parse_with(con, FIXTURES / "zendesk-satisfaction-ratings.json", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "occurred_at", "csat", "source_code", "case_id", "source_customer_ref") == [
        ("email:zendesk_rating:35436", 3, "2026-03-05T14:02:10+00:00", 5, "zendesk_csat:good", "email:35436", "zendesk_user:20978392"),
        ("email:zendesk_rating:120447", 18, "2026-02-02T10:32:59+00:00", 1, "zendesk_csat:bad", "email:208", "zendesk_user:7881"),
        ("email:zendesk_rating:120448", 33, "2026-03-04T09:00:00+00:00", None, "zendesk_csat:offered", "email:35437", "zendesk_user:20978511"),
    ]
    good, bad, offered = parsed.good.to_pylist()
    assert good["text"] == "Awesome support!" and good["agent_id"] == "235323" and good["team"] == "98738"
    assert good["interaction_type"] == "csat_rating" and offered["text"] is None
    assert '"reason":"The issue took too long to resolve"' in bad["attributes"]
    assert failures(parsed) == [(48, "missing_field")]


def test_a_rating_given_after_it_was_offered_supersedes_the_offer(con):
    parsed = parse_with(con, FIXTURES / "zendesk-satisfaction-ratings-airbyte.jsonl", EMAIL)
    offer, unoffered, answer = parsed.good.to_pylist()
    assert offer["interaction_id"] == answer["interaction_id"] == "email:zendesk_rating:7235633102607"
    assert answer["record_version"] > offer["record_version"]
    assert (answer["csat"], answer["text"]) == (1, "Printer still not replaced after a week.")
    assert (offer["csat"], unoffered["csat"], unoffered["source_code"]) == (None, None, "zendesk_csat:unoffered")
    assert failures(parsed) == []


def test_ticket_metrics_give_wait_and_handle_time_per_ticket(con):
    parsed = parse_with(con, FIXTURES / "zendesk-ticket-metrics.json", EMAIL)
    assert keyed(parsed, "interaction_id", "source_line", "case_id", "wait_seconds", "handle_seconds", "transfers") == [
        ("email:zendesk_ticket_metrics:35436", 3, "email:35436", 26 * 60, 4456 * 60, 1),
        ("email:zendesk_ticket_metrics:35437", 28, "email:35437", 25 * 60, None, 0),  # not solved yet
    ]
    solved, unsolved = parsed.good.to_pylist()
    assert solved["interaction_type"] == "ticket_metrics" and solved["source_customer_ref"] is None
    assert solved["occurred_at"].isoformat() == "2026-03-02T09:14:08+00:00"
    assert '"solved_at":"2026-03-05T11:30:00Z"' in solved["attributes"] and '"solved_at":null' in unsolved["attributes"]
    assert failures(parsed) == [(53, "missing_field")]
