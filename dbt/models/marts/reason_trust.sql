-- How far to trust a root-cause ranking: for each reason, how its contacts were tagged (by the source's
-- own code, a rule, the examples, the embeddings) and how sure the tagging was, in confidence bands.
-- Confidences of the example and embedding tiers are calibrated: a band's lower bound is about the
-- least share of its contacts that carry the right reason.
with contacts as (
    select
        coalesce(reason_code, 'unknown') as reason_code,
        coalesce(reason_method, 'none') as decided_by,
        case
            when reason_code = 'unknown' or reason_confidence is null then 'unknown'
            when reason_confidence >= 0.9 then '0.9-1.0'
            when reason_confidence >= 0.7 then '0.7-0.9'
            when reason_confidence >= 0.5 then '0.5-0.7'
            else 'below 0.5'
        end as confidence_band
    from {{ ref('stg_cx__interactions') }}
    where is_contact
),

counted as (
    select
        reason_code,
        decided_by,
        confidence_band,
        count(*)::bigint as contacts
    from contacts
    group by all
)

select
    *,
    contacts / sum(contacts) over (partition by reason_code) as share_of_reason,
    contacts / sum(contacts) over () as share_of_contacts
from counted
