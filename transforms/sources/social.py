"""Social mentions as a social-listening export (Brandwatch's mentions API shape), one JSON per line.

    {"id": "1789…", "date": "2026-02-10T20:52:32.000+0000", "pageType": "twitter", "author": "jo_k",
     "fullname": "Jo K", "title": "", "fullText": "third call this week and still no refund @acme",
     "sentiment": "negative", "url": "https://…", "matchedAccount": "C1"}

A mention is a community interaction; its text is tagged like any verbatim. The author's handle is a
personal identifier: it is stored only as a salted hash ('social:<hash>'). When the listening tool
matched the author to a customer (a CRM match), `matchedAccount` links the handle to the account.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

SOCIAL = SourceAdapter(
    name="social",
    framing="jsonl",
    consumed=("id", "date", "pageType", "author", "fullname", "fullText", "snippet", "title", "sentiment", "matchedAccount", "url"),
    paths=(("_id", "$.id"), ("_ts", "$.date"), ("_site", "$.pageType"), ("_author", "$.author"), ("_text", "$.fullText"),
           ("_snippet", "$.snippet"), ("_title", "$.title"), ("_sentiment", "$.sentiment"), ("_account", "$.matchedAccount")),
    fields="""
        'social:' || _id as interaction_id,
        'social' as touchpoint,
        'community' as channel_type,
        'mention' as interaction_type,
        cx_ts_zoned(_ts) as occurred_at,
        case when nullif(_account, '') is not null then 'account:' || _account
             when nullif(_author, '') is not null then 'social:' || cx_pii_hash(lower(coalesce(_site, '') || ':' || _author)) end
            as source_customer_ref,
        case when nullif(_account, '') is not null and nullif(_author, '') is not null
             then 'social:' || cx_pii_hash(lower(coalesce(_site, '') || ':' || _author)) end as linked_ref,
        coalesce(nullif(_text, ''), _snippet, nullif(_title, '')) as text,
        _site as source_code,
        _sentiment as source_reason,
        null::bigint as record_version""",
    checks=(
        required("_id", "id"),
        required("_ts", "date"),
        timestamp("_ts", "occurred_at", "date"),
        Check("source_customer_ref is null", "missing_field", "'mention has neither author nor matchedAccount'"),
    ),
)
