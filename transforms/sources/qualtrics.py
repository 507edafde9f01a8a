"""Survey responses as a Qualtrics-style CSV export: three header rows (column ids, question text,
ImportId JSON), then one row per response.

Question columns are mapped by id: Q_CES (CES 2.0, 1-7), Q_CSAT (1-5), Q_NPS (0-10), Q_Verbatim (why),
Q_Touchpoint (the channel the survey asked about). RecordedDate has no zone; Qualtrics writes it in
the account's zone, which here is UTC.
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

SURVEY = SourceAdapter(
    name="survey",
    framing="csv",
    required_columns=("ResponseId", "RecordedDate"),
    consumed=("ResponseId", "RecordedDate", "ExternalReference", "Q_Touchpoint", "Q_CES", "Q_CSAT", "Q_NPS", "Q_Verbatim"),
    fields="""
        nullif("col_ResponseId", '') as _id,
        nullif("col_RecordedDate", '') as _ts,
        "col_Q_CES" as _ces, "col_Q_CSAT" as _csat, "col_Q_NPS" as _nps,
        'survey:' || nullif("col_ResponseId", '') as interaction_id,
        'survey' as touchpoint,
        'self_service' as channel_type,
        'survey_response' as interaction_type,
        cx_ts(nullif("col_RecordedDate", '')) as occurred_at,
        'account:' || nullif("col_ExternalReference", '') as source_customer_ref,
        null::varchar as linked_ref,
        nullif("col_Q_Verbatim", '') as text,
        nullif("col_Q_Touchpoint", '') as source_code,
        try_cast(nullif("col_Q_CES", '') as integer) as ces,
        try_cast(nullif("col_Q_CSAT", '') as integer) as csat,
        try_cast(nullif("col_Q_NPS", '') as integer) as nps,
        null::bigint as record_version""",
    checks=(
        required("_id", "ResponseId"),
        required("_ts", "RecordedDate"),
        timestamp("_ts", "occurred_at", "RecordedDate"),
        integer("_ces", "Q_CES"),
        integer("_csat", "Q_CSAT"),
        integer("_nps", "Q_NPS"),
        required("source_customer_ref", "ExternalReference"),
    ),
)
