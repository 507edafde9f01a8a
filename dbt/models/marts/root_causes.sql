-- What drives contacts, unresolved contacts and repeat contacts: reason x phase x touchpoint,
-- ranked Pareto-style by volume, with an impact score for what to fix first.
with contacts as (
    select * from {{ ref('int_contacts_sequenced') }}
),

surveys as (
    select
        reason_code,
        journey_phase,
        {{ surveyed_touchpoint('source_code') }} as touchpoint,
        ces
    from {{ ref('stg_cx__interactions') }}
    where interaction_type = 'survey_response' and ces is not null and reason_code is not null
),

survey_effort as (
    select
        reason_code,
        journey_phase,
        touchpoint,
        avg(ces) as ces_mean,
        count(*)::bigint as ces_responses
    from surveys
    group by all
),

volume as (
    select
        reason_code,
        any_value(reason_dimension) as reason_dimension,
        coalesce(journey_phase, 'unassigned') as journey_phase,
        touchpoint,
        count(*)::bigint as contacts,
        count(distinct customer_id)::bigint as customers,
        count_if(effective_outcome <> 'resolved')::bigint as unresolved_contacts,
        count_if(is_repeat_contact)::bigint as repeat_contacts,
        sum(transfers)::bigint as transfers,
        list(text order by occurred_at desc) filter (where text is not null) as verbatims
    from contacts
    group by all
),

scored as (
    select
        volume.* exclude (verbatims),
        array_to_string(verbatims[1:3], ' | ') as example_verbatims,
        survey_effort.ces_mean,
        coalesce(survey_effort.ces_responses, 0) as ces_responses,
        contacts / sum(contacts) over () as share,
        unresolved_contacts / contacts as unresolved_rate,
        repeat_contacts / contacts as repeat_rate,
        transfers / contacts as transfers_per_contact
    from volume
    left join survey_effort using (reason_code, journey_phase, touchpoint)
),

final as (
    select
        *,
        row_number() over (order by contacts desc, reason_code asc, journey_phase asc, touchpoint asc)::bigint as pareto_rank,
        sum(share) over (
            order by contacts desc, reason_code asc, journey_phase asc, touchpoint asc
            rows between unbounded preceding and current row
        ) as cumulative_share,
        round(contacts * (unresolved_rate + repeat_rate + coalesce((7 - ces_mean) / 6, 0)), 1) as impact_score
    from scored
)

select * from final
