"""The internal perception survey: leadership and staff answer what customers answer, as a Google
Forms CSV export, one row per response.

    Timestamp,Your role,Your team,How easy do we make it for customers to deal with us? [Looking & Deciding],...

Grid questions export one column per row of the grid, named "<question> [<area>]"; the areas are the
six journey phases by their labels. "How easy..." is answered 1-7 (as customers answer CES), "How well
do we do this?" 1-5 (as CSAT), and "What most needs improving?" is a checkbox list, its ticked labels
joined by ", ". Forms keep no response id and respondents stay anonymous, so a response's id is the hash
of its row. The Timestamp has no zone; the form's zone is UTC. The answers stay in `attributes`,
keyed by column; dbt's stg_cx__internal_answers turns them into one row per question and area.
"""

from transforms.sources.base import Check, SourceAdapter, required

PHASE_LABELS = ("Looking & Deciding", "Taking The Leap", "I Have It Now What?", "Your First Success",
                "Making It Part Of Your Core", "Telling Others")
EASE_QUESTION = "How easy do we make it for customers to deal with us?"
DOES_WELL_QUESTION = "How well do we do this?"
IMPROVE_QUESTION = "What most needs improving?"
# Roles on the form, and the group each answers for.
ROLE_GROUPS = {"Leadership team": "leadership", "Customer-facing staff": "staff", "Other staff": "staff"}
SCALES = ((EASE_QUESTION, 7), (DOES_WELL_QUESTION, 5))
COLUMNS = ("Timestamp", "Your role", "Your team",
           *(f"{question} [{label}]" for question, _ in SCALES for label in PHASE_LABELS), IMPROVE_QUESTION)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _score_check(column: str, top: int) -> Check:
    raw = f'nullif(trim("col_{column}"), \'\')'
    return Check(f"{raw} is not null and coalesce(try_cast({raw} as integer) not between 1 and {top}, true)",
                 "out_of_range", f"{_sql_text(column + f' is not a whole number from 1 to {top}: ')} || left({raw}, 60)")


_roles = " ".join(f"when {_sql_text(role)} then '{group}'" for role, group in ROLE_GROUPS.items())
_labels = ", ".join(_sql_text(label) for label in PHASE_LABELS)

INTERNAL_SURVEY = SourceAdapter(
    name="internal_survey",
    framing="csv",
    required_columns=("Timestamp", "Your role"),
    consumed=("Timestamp", "Your role", "Your team"),
    fields=f"""
        nullif("col_Timestamp", '') as _ts,
        nullif(trim("col_Your role"), '') as _role,
        case _role {_roles} end as _group,
        list_filter(string_split(coalesce("col_{IMPROVE_QUESTION}", ''), ', '), lambda x: x <> '') as _ticked,
        'internal_survey:' || md5(raw) as interaction_id,
        'internal_survey' as touchpoint,
        'self_service' as channel_type,
        'internal_survey_response' as interaction_type,
        try_strptime(_ts, ['%m/%d/%Y %H:%M:%S', '%Y-%m-%d %H:%M:%S'])::timestamp at time zone 'UTC' as occurred_at,
        'respondent:' || md5(raw) as source_customer_ref,
        null::varchar as linked_ref,
        _group as source_code,
        _role as source_reason,
        nullif(trim("col_Your team"), '') as team,
        null::bigint as record_version""",
    checks=(
        required("_ts", "Timestamp"),
        Check("_ts is not null and occurred_at is null", "invalid_timestamp",
              "'Timestamp is not a date and time (M/D/YYYY H:MM:SS): ' || left(_ts, 60)"),
        required("_role", "Your role"),
        Check("_group is null", "invalid_value",
              f"'Your role ' || _role || ' is not one of: ' || {_sql_text(', '.join(ROLE_GROUPS))}"),
        *(_score_check(f"{question} [{label}]", top) for question, top in SCALES for label in PHASE_LABELS),
        Check(f"len(list_filter(_ticked, lambda x: not list_contains([{_labels}], x))) > 0", "invalid_value",
              f"{_sql_text(IMPROVE_QUESTION + ' names an unknown area: ')} || "
              f"list_filter(_ticked, lambda x: not list_contains([{_labels}], x))[1]"),
    ),
)
