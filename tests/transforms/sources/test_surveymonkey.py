import json
from pathlib import Path

import pytest

from tests.conftest import failures, parse_with, write
from transforms.sources.surveymonkey import RESPONSES, choice_scores, find_nps, surveymonkey_adapter

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors" / "survey"
BULK = FIXTURES / "surveymonkey-responses-bulk.json"
NPS, CES, CSAT, WHY, NAME, CHANNEL, TOUCH = "179338101", "179338102", "179338103", "179338104", "179338105", "179338106", "179338107"


def _choices(first_id: int, texts: list[str], weights: list[int] | None = None) -> list[dict]:
    return [{"id": str(first_id + i), "text": t, "position": i, "visible": True, **({"weight": weights[i - 1]} if weights else {})}
            for i, t in enumerate(texts, 1)]


# GET /v3/surveys/405839201/details, cut to what the adapter reads.
SAMPLE_DETAILS = {
    "id": "405839201", "title": "How was your onboarding?", "custom_variables": ["account"], "question_count": 7,
    "pages": [
        {"id": "52713908", "position": 1, "questions": [
            {"id": NPS, "family": "matrix", "subtype": "rating", "position": 1,
             "headings": [{"heading": "How likely are you to recommend us to a friend or colleague?"}],
             "answers": {"rows": [{"id": "1223452989", "text": "", "position": 1, "visible": True}],
                         "choices": [{**c, "id": str(1223452999 + c["position"])} for c in _choices(0, [str(n) for n in range(11)], list(range(11)))]}},
            {"id": CES, "family": "single_choice", "subtype": "vertical", "position": 2,
             "headings": [{"heading": "The company made it easy for me to handle my issue."}],
             "answers": {"choices": _choices(1223453020, ["Strongly disagree", "Disagree", "Somewhat disagree", "Neutral",
                                                          "Somewhat agree", "Agree", "Strongly agree"])}},
            {"id": CSAT, "family": "single_choice", "subtype": "horiz", "position": 3,
             "headings": [{"heading": "How satisfied are you with the onboarding?"}],
             "answers": {"choices": _choices(1223453040, ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
                                             [1, 2, 3, 4, 5])}},
            {"id": TOUCH, "family": "single_choice", "subtype": "vertical", "position": 4,
             "headings": [{"heading": "Which channel did you use to contact us?"}],
             "answers": {"choices": _choices(1223453070, ["Phone", "Chat", "Email"])}},
            {"id": CHANNEL, "family": "single_choice", "subtype": "vertical", "position": 5,
             "headings": [{"heading": "Where did you first try us?"}],
             "answers": {"choices": _choices(1223453050, ["Website", "Sales call"]), "other": {"id": "1223453061", "text": "Other"}}},
        ]},
        {"id": "52713909", "position": 2, "questions": [
            {"id": WHY, "family": "open_ended", "subtype": "essay", "position": 1, "headings": [{"heading": "What is the main reason for your score?"}]},
            {"id": NAME, "family": "open_ended", "subtype": "single", "position": 2, "headings": [{"heading": "Your first name (optional)"}]},
        ]},
    ],
}


def keyed(parsed, *columns):
    return [tuple(str(r[c]) if c == "occurred_at" else r[c] for c in columns) for r in parsed.good.to_pylist()]


def emailed_ref(con):
    return "email:" + con.execute("select cx_pii_hash('marek.novak@fabrikam.cz')").fetchall()[0][0]


def test_a_bulk_page_reads_every_response_without_the_survey_details(con):
    parsed = parse_with(con, BULK, RESPONSES)
    assert keyed(parsed, "interaction_id", "source_line", "occurred_at", "source_code", "nps", "ces", "csat") == [
        ("survey:surveymonkey:114372901562", 5, "2026-02-03 09:12:44+00:00", None, None, None, None),
        ("survey:surveymonkey:114372935118", 95, "2026-02-04 14:40:10+00:00", None, None, None, None),
        ("survey:surveymonkey:114372988040", 166, "2026-02-06 01:01:09+00:00", None, None, None, None),
        ("survey:surveymonkey:114373010277", 213, "2026-02-06 11:27:30+00:00", None, None, None, None),
    ]
    first, emailed, partial, other = parsed.good.to_pylist()
    # The longest free-text answer is the verbatim: not the name box, and an "other" comment counts.
    assert first["text"] == "Setup was quick, but the invite email never arrived and I needed two calls to get my team in."
    assert other["text"] == "Your mobile app, mostly on Android" and partial["text"] is None
    assert first["source_customer_ref"] == "surveymonkey_respondent:114372901562"  # no `customer` option
    assert emailed["source_customer_ref"].startswith("email:") and emailed["linked_refs"] == ["surveymonkey_recipient:5791046322"]
    assert first["interaction_type"] == "survey_response" and first["channel_type"] == "self_service"
    assert first["record_version"] == 1770110102000
    assert '"custom_variables":{"account":"C-1042"}' in first["attributes"] and '"pages":[' in first["attributes"]
    assert '"response_status":"partial"' in partial["attributes"]
    assert '"first_name"' not in emailed["attributes"] and '"ip_address"' not in first["attributes"]
    assert failures(parsed) == [(277, "test_response")]
    assert parsed.failed["error_message"].to_pylist() == ["collection_mode survey_preview: a test response taken in the survey preview"]


def test_the_survey_details_give_the_scores_and_find_the_nps_question(con):
    options = {"details": SAMPLE_DETAILS, "ces": CES, "csat": CSAT, "touchpoint": TOUCH, "customer": "account", "timezone": "UTC"}
    parsed = parse_with(con, BULK, surveymonkey_adapter(options))
    assert keyed(parsed, "interaction_id", "source_customer_ref", "source_code", "nps", "ces", "csat") == [
        ("survey:surveymonkey:114372901562", "account:C-1042", "Phone", 9, 6, 4),   # CES by position, CSAT by weight
        ("survey:surveymonkey:114372935118", emailed_ref(con), "Email", 3, 2, None),
        ("survey:surveymonkey:114372988040", "surveymonkey_respondent:114372988040", None, 10, None, None),  # account ""
        ("survey:surveymonkey:114373010277", "surveymonkey_respondent:114373010277", None, 7, None, None),
    ]
    assert failures(parsed) == [(277, "test_response")]


def test_another_tools_question_ids_in_the_shared_options_are_ignored(con):
    qualtrics = {"details": SAMPLE_DETAILS, "nps": "QID7", "ces": "QID4", "touchpoint": "QID2", "customer": "ExternalReference"}
    parsed = parse_with(con, BULK, surveymonkey_adapter(qualtrics))
    assert keyed(parsed, "interaction_id", "source_customer_ref", "source_code", "nps", "ces") == [
        ("survey:surveymonkey:114372901562", "surveymonkey_respondent:114372901562", None, 9, None),  # NPS found in the details
        ("survey:surveymonkey:114372935118", emailed_ref(con), None, 3, None),
        ("survey:surveymonkey:114372988040", "surveymonkey_respondent:114372988040", None, 10, None),
        ("survey:surveymonkey:114373010277", "surveymonkey_respondent:114373010277", None, 7, None),
    ]



def test_options_name_the_questions_and_a_details_file(tmp_path, con):
    details = tmp_path / "survey-405839201-details.json"
    details.write_text(json.dumps(SAMPLE_DETAILS))
    parsed = parse_with(con, BULK, surveymonkey_adapter({"details": str(details), "nps": NPS, "verbatim": NAME}))
    assert keyed(parsed, "interaction_id", "text", "nps") == [
        ("survey:surveymonkey:114372901562", "Jenny", 9),
        ("survey:surveymonkey:114372935118", None, 3),
        ("survey:surveymonkey:114372988040", None, 10),
        ("survey:surveymonkey:114373010277", "Priya", 7),
    ]


def test_a_score_typed_as_text_needs_no_details(tmp_path, con):
    page = {"data": [{"id": "9001", "survey_id": "77", "collector_id": "78", "response_status": "completed",
                      "date_created": "2026-03-01T10:00:00+00:00", "date_modified": "2026-03-01T10:01:00+00:00",
                      "pages": [{"id": "1", "questions": [{"id": "501", "answers": [{"text": "8"}]},
                                                          {"id": "502", "answers": [{"text": "quick and painless"}]}]}]}],
            "per_page": 50, "page": 1, "total": 1, "links": {"self": "https://api.surveymonkey.com/v3/surveys/77/responses/bulk?page=1"}}
    parsed = parse_with(con, write(tmp_path, "survey", "bulk.json", json.dumps(page)), surveymonkey_adapter({"nps": "501"}))
    assert keyed(parsed, "interaction_id", "nps", "text") == [("survey:surveymonkey:9001", 8, "quick and painless")]


def test_a_response_fetched_again_after_it_changed_supersedes_the_partial_one(con):
    parsed = parse_with(con, FIXTURES / "surveymonkey-responses-airbyte.jsonl", surveymonkey_adapter({"customer": "account"}))
    assert keyed(parsed, "interaction_id", "source_line", "source_customer_ref", "text") == [
        ("survey:surveymonkey:114373104455", 1, "account:C-2077", None),
        ("survey:surveymonkey:114373120981", 2, "account:C-3310", "The new dashboard is great."),
        ("survey:surveymonkey:114373104455", 3, "account:C-2077", "Could not find where to change the billing email."),
    ]
    partial, emailed, completed = parsed.good.to_pylist()
    assert completed["record_version"] > partial["record_version"]
    assert '"response_status":"partial"' in partial["attributes"] and '"response_status":"completed"' in completed["attributes"]
    assert [r.split(":")[0] for r in emailed["linked_refs"]] == ["email", "surveymonkey_recipient"]
    assert failures(parsed) == []


def test_choice_scores_come_from_distinct_weights_else_numbers_else_positions():
    nps, ces, csat = SAMPLE_DETAILS["pages"][0]["questions"][:3]
    assert choice_scores(nps)[1] == "weight" and sorted(choice_scores(nps)[0].values()) == list(range(11))
    assert choice_scores(ces) == ({str(1223453020 + i): i for i in range(1, 8)}, "position")
    assert choice_scores(csat)[1] == "weight"
    same_weights = {"answers": {"choices": _choices(10, [str(n) for n in range(11)], [1] * 11)}}  # as the docs' example sets them
    assert choice_scores(same_weights) == ({str(10 + i): i - 1 for i in range(1, 12)}, "text")
    unlabelled = {"answers": {"choices": _choices(40, [""] * 11)}}
    assert choice_scores(unlabelled) == ({str(40 + i): i - 1 for i in range(1, 12)}, "position")
    assert find_nps(SAMPLE_DETAILS["pages"][0]["questions"]) == NPS
    assert find_nps([{"id": "1", "family": "matrix", **unlabelled}]) is None  # positions alone do not say NPS


def test_an_unreadable_details_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="options.details: cannot read the survey details .*missing.json"):
        surveymonkey_adapter({"details": str(tmp_path / "missing.json")})
