"""Survey responses from SurveyMonkey's API v3 (GET /v3/surveys/{id}/responses/bulk), as the API pages them
({"data": [...], "per_page", "page", "total", "links"}) or as an EL connector delivers them (stream
'survey_responses'), one interaction per response:

    {"id": "114372901562", "survey_id": "405839201", "collector_id": "431190284", "recipient_id": "",
     "response_status": "completed", "date_created": "2026-02-03T09:12:44+00:00",
     "date_modified": "2026-02-03T09:15:02+00:00", "email_address": "", "custom_variables": {"account": "C-1042"},
     "pages": [{"id": "52713908", "questions": [{"id": "179338104", "answers": [{"choice_id": "1223453027"}]},
                                               {"id": "179338105", "answers": [{"text": "Setup took two calls"}]}]}]}

date_created and date_modified are ISO 8601 with an offset. occurred_at is date_created; date_modified is the
record version, so a response fetched again after it changed (partial, then completed) supersedes the earlier
copy. Every response_status (completed, partial, overquota, disqualified) is kept; it stays in attributes.
Responses taken in the survey's preview (collection_mode preview or survey_preview) are test data and fail.

Answers carry only ids; what they mean is in the survey's details (GET /v3/surveys/{id}/details). The survey
folder's options say it (`surveymonkey_adapter(options)`; the folder's other adapters get the same options):
    nps, ces, csat, verbatim: question ids;
    touchpoint: the question asking which touchpoint the survey is about (its answer is the source code,
        as the marts read it for survey responses);
    details: the saved details document (a path to its JSON, the parsed document, or a list of them);
    customer: the custom variable that holds the customer's account id.
With details, a question id they do not hold is another tool's (a Qualtrics QID) and is ignored.
A score is the chosen choice's score from the details (its weight when the question's weights are distinct,
else its text when every choice text is a whole number, else its position, counted from 0 on an 11-point
scale and from 1 otherwise: a scale listed low to high), else the answer's own text when it is a whole number
(sliders, numeric boxes). Without an `nps` option the NPS question is found in the details: the first
single-choice or matrix question with 11 choices scored 0-10 by weight or text. Without details or question
ids a response has no scores, and is still good. The verbatim is the `verbatim` question's text, else the
longest free-text answer (text without a row, not a number: a name box loses to a comment).
Customer: the `customer` custom variable as 'account:<value>', else email_address (hashed), else the response
itself ('surveymonkey_respondent:<id>'); recipient_id (email collectors) is linked as 'surveymonkey_recipient:'.
"""

from __future__ import annotations

import json
from pathlib import Path

from transforms.sources.base import Check, SourceAdapter, quote_text, required, timestamp

SCORED_FAMILIES = ("single_choice", "matrix")


def _questions(details) -> list[dict]:
    """Every question of one or more survey details documents (paths, parsed documents, or a list of them)."""
    docs = details if isinstance(details, list) else [details]
    questions = []
    for doc in docs:
        if isinstance(doc, (str, Path)):
            try:
                doc = json.loads(Path(doc).read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"options.details: cannot read the survey details {doc} ({exc})") from None
        for page in doc.get("pages") or []:
            questions.extend(q for q in page.get("questions") or [] if isinstance(q, dict))
    return questions


def _whole(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def choice_scores(question: dict) -> tuple[dict[str, int], str]:
    """A question's choice ids mapped to scores, and what the scores come from (weight, text or position)."""
    choices = [c for c in (question.get("answers") or {}).get("choices") or [] if c.get("id") is not None]
    if not choices:
        return {}, "none"
    weights = [c.get("weight") for c in choices]
    if all(isinstance(w, (int, float)) for w in weights) and len(set(weights)) == len(weights):
        return {str(c["id"]): int(w) for c, w in zip(choices, weights)}, "weight"
    texts = [_whole(c.get("text")) for c in choices]
    if all(t is not None for t in texts):
        return {str(c["id"]): t for c, t in zip(choices, texts)}, "text"
    base = 1 if len(choices) == 11 else 0
    return {str(c["id"]): int(c.get("position") or i) - base for i, c in enumerate(choices, 1)}, "position"


def find_nps(questions: list[dict]) -> str | None:
    """The first single-choice or matrix question whose 11 choices score 0-10 by weight or text."""
    for question in questions:
        if question.get("family") in SCORED_FAMILIES:
            scores, source = choice_scores(question)
            if source in ("weight", "text") and sorted(scores.values()) == list(range(11)):
                return str(question.get("id"))
    return None


def _answer_sql(question_id: str | None, by_choice: dict, from_text: str, empty: str) -> str:
    """SQL for a question's first answer: its choice looked up in `by_choice`, else `from_text` over its text."""
    if not question_id:
        return empty
    answered = f"a.q = {quote_text(question_id)} and (a.choice is not null or a.text is not null)"
    answer = f"list_filter(_answers, lambda a: {answered})[1]"
    by_text = from_text.format(f"({answer}).text")
    if not by_choice:
        return by_text
    pairs = ", ".join(f"{quote_text(k)}: {quote_text(v) if isinstance(v, str) else v}" for k, v in by_choice.items())
    return f"coalesce((map {{{pairs}}})[({answer}).choice], {by_text})"


def surveymonkey_adapter(options: dict | None = None) -> SourceAdapter:
    """The adapter for a folder's SurveyMonkey responses; `options` as in the module docstring (others are ignored)."""
    options = options or {}
    questions = _questions(options["details"]) if options.get("details") else []
    by_id = {str(q.get("id")): q for q in questions}
    # A question id the details do not know belongs to another tool of the folder (a Qualtrics QID).
    ids = {key: str(options[key]) if options.get(key) and (not by_id or str(options[key]) in by_id) else None
           for key in ("nps", "ces", "csat", "verbatim", "touchpoint")}
    ids["nps"] = ids["nps"] or find_nps(questions)
    scores = {key: choice_scores(by_id[ids[key]])[0] if ids[key] in by_id else {} for key in ("nps", "ces", "csat")}
    surveyed = {str(c["id"]): str(c.get("text") or "")
                for c in ((by_id.get(ids["touchpoint"]) or {}).get("answers") or {}).get("choices") or [] if c.get("id")}
    customer = options.get("customer")
    custom_paths = (("_custom", "$.custom_variables." + json.dumps(str(customer))),) if customer else ()
    account = "nullif(trim(_custom), '')" if customer else "null::varchar"
    verbatim = (f"list_filter(_answers, lambda a: a.q = {quote_text(ids['verbatim'])} and a.text is not null)[1].text"
                if ids["verbatim"] else
                "list_filter(_texts, lambda t: length(t) = list_max([length(x) for x in _texts]))[1]")
    score = "try_cast(trim({}) as integer)"
    return SourceAdapter(
        name="surveymonkey_responses",
        framing="json",
        accepts="stream = 'survey_responses' or (json_exists(j, '$.response_status') and json_exists(j, '$.survey_id'))",
        # The respondent's name and IP address are dropped: personal data no field here uses.
        consumed=("id", "date_created", "date_modified", "email_address", "first_name", "last_name", "ip_address"),
        paths=(("_id", "$.id"), ("_created", "$.date_created"), ("_modified", "$.date_modified"),
               ("_mode", "$.collection_mode"), ("_email", "$.email_address"), ("_recipient", "$.recipient_id"), *custom_paths),
        fields=f"""
        flatten([[{{'q': json_extract_string(q, '$.id'), 'choice': json_extract_string(a, '$.choice_id'),
                    'row': json_extract_string(a, '$.row_id'), 'text': json_extract_string(a, '$.text')}}
                  for a in coalesce(json_extract(q, '$.answers[*]'), [])]
                 for q in coalesce(json_extract(j, '$.pages[*].questions[*]'), [])]) as _answers,
        [trim(a.text) for a in _answers
            if a.row is null and nullif(trim(a.text), '') is not null
               and not regexp_full_match(trim(a.text), '[-+]?[0-9]+([.,][0-9]+)?')] as _texts,
        {account} as _account,
        nullif(lower(trim(_email)), '') as _mail,
        nullif(nullif(trim(_recipient), ''), '0') as _recipient_id,
        'survey:surveymonkey:' || _id as interaction_id,
        'survey' as touchpoint,
        'self_service' as channel_type,
        'survey_response' as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        case when _account is not null then 'account:' || _account
             when _mail is not null then 'email:' || cx_pii_hash(_mail)
             else 'surveymonkey_respondent:' || _id end as source_customer_ref,
        list_filter([case when _account is not null then 'email:' || cx_pii_hash(_mail) end,
                     'surveymonkey_recipient:' || _recipient_id], lambda r: r is not null) as linked_ref,
        null::varchar as case_id,
        {verbatim} as text,
        {_answer_sql(ids['touchpoint'], surveyed, "nullif(trim({}), '')", "null::varchar")} as source_code,
        {_answer_sql(ids['ces'], scores['ces'], score, "null::integer")} as ces,
        {_answer_sql(ids['csat'], scores['csat'], score, "null::integer")} as csat,
        {_answer_sql(ids['nps'], scores['nps'], score, "null::integer")} as nps,
        epoch_ms(cx_ts_zoned(_modified)) as record_version""",
        checks=(
            required("_id", "id"),
            required("_created", "date_created"),
            timestamp("_created", "occurred_at", "date_created"),
            timestamp("_modified", "record_version", "date_modified"),
            Check("_mode in ('preview', 'survey_preview')", "test_response",
                  "'collection_mode ' || _mode || ': a test response taken in the survey preview'"),
        ),
    )


RESPONSES = surveymonkey_adapter(None)
