-- Where customers' expectations of our people, products and processes are not met, per journey phase:
-- the share of contacts that ended badly (unresolved, escalated, abandoned), of CES answers that said
-- it was hard, and of CSAT ratings that were low, for interactions whose reason has that dimension.
with interactions as (
    select * from {{ ref('interactions') }}
    where reason_dimension is not null and journey_phase is not null
),

per_cell as (
    select
        journey_phase,
        reason_dimension,
        count_if(is_contact)::bigint as contacts,
        count_if(is_contact and outcome in ('unresolved', 'escalated', 'abandoned'))::bigint as contacts_ended_badly,
        count(ces)::bigint as ces_answers,
        count_if(ces <= {{ var('ces_hard_max') }})::bigint as hard_ces_answers,
        count(csat)::bigint as csat_ratings,
        count_if(csat <= {{ var('csat_low_max') }})::bigint as low_csat_ratings
    from interactions
    group by journey_phase, reason_dimension
),

rated as (
    select
        *,
        round(contacts_ended_badly / nullif(contacts, 0), 4) as ended_badly_rate,
        round(hard_ces_answers / nullif(ces_answers, 0), 4) as hard_effort_rate,
        round(low_csat_ratings / nullif(csat_ratings, 0), 4) as low_csat_rate
    from per_cell
),

final as (
    select
        *,
        round(list_avg(list_filter([ended_badly_rate, hard_effort_rate, low_csat_rate], lambda r: r is not null)), 4)
            as expectation_gap,
        rank() over (
            partition by journey_phase order by
                list_avg(list_filter([ended_badly_rate, hard_effort_rate, low_csat_rate], lambda r: r is not null)) desc nulls last
        )::bigint as rank_in_phase
    from rated
)

select * from final
