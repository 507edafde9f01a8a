"""App-store reviews as App Store Connect's customerReviews API pages (JSON:API), one page per file.

    {"data": [{"type": "customerReviews", "id": "00000123-…",
               "attributes": {"rating": 2, "title": "Crashes", "body": "Crashes when I open reports",
                              "reviewerNickname": "jo k", "createdDate": "2026-02-10T12:52:32-08:00", "territory": "USA"}}],
     "links": {"self": "…", "next": "…"}}

A review is a community interaction: title and body are the verbatim, the star rating is stored as
CSAT (1-5). Nicknames are personal identifiers and are kept only as a salted hash ('reviewer:<hash>').
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, timestamp

APP_STORE = SourceAdapter(
    name="app_store",
    framing="json_document",
    consumed=("id", "type", "attributes"),
    paths=(("_id", "$.id"), ("_type", "$.type"), ("_rating", "$.attributes.rating"), ("_title", "$.attributes.title"),
           ("_body", "$.attributes.body"), ("_nickname", "$.attributes.reviewerNickname"), ("_ts", "$.attributes.createdDate"),
           ("_territory", "$.attributes.territory")),
    fields="""
        'app_store:' || _id as interaction_id,
        'app_store' as touchpoint,
        'community' as channel_type,
        'review_posted' as interaction_type,
        cx_ts_zoned(_ts) as occurred_at,
        'reviewer:' || cx_pii_hash(lower(_nickname)) as source_customer_ref,
        null::varchar as linked_ref,
        nullif(concat_ws('. ', nullif(_title, ''), nullif(_body, '')), '') as text,
        _territory as source_code,
        try_cast(_rating as integer) as csat,
        null::bigint as record_version""",
    checks=(
        required("_id", "id"),
        Check("_type is not null and _type <> 'customerReviews'", "invalid_value", "'type ' || _type || ' is not customerReviews'"),
        required("_ts", "attributes.createdDate"),
        timestamp("_ts", "occurred_at", "attributes.createdDate"),
        integer("_rating", "attributes.rating"),
        required("_nickname", "attributes.reviewerNickname"),
    ),
)
