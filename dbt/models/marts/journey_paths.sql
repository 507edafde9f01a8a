-- The most common journeys, as phase sequences: 'with_backtracking' keeps every change of phase
-- (repeats in a row collapsed), 'first_arrivals' keeps each phase once, in the order it was first reached.
with steps as (
    select * from {{ ref('int_journey_steps') }}
    where phase_move is not null and not is_pseudo_customer
),

changes as (
    select
        *,
        lag(journey_phase) over (partition by customer_id order by occurred_at, interaction_id) as previous_phase
    from steps
),

with_backtracking as (
    select
        customer_id,
        'with_backtracking' as path_kind,
        string_agg(journey_phase, ' > ' order by occurred_at, interaction_id) as path,
        count(*)::bigint as steps,
        bool_or(phase_move in ('back', 'restart')) as has_backtracking
    from changes
    where previous_phase is null or previous_phase <> journey_phase
    group by customer_id
),

first_arrivals as (
    select
        customer_id,
        journey_phase,
        min(occurred_at) as first_arrived_at
    from steps
    group by customer_id, journey_phase
),

progress as (
    select
        customer_id,
        'first_arrivals' as path_kind,
        string_agg(journey_phase, ' > ' order by first_arrived_at, journey_phase) as path,
        count(*)::bigint as steps,
        false as has_backtracking
    from first_arrivals
    group by customer_id
),

paths as (
    select * from with_backtracking
    union all
    select * from progress
),

final as (
    select
        path_kind,
        path,
        any_value(steps) as steps,
        bool_or(has_backtracking) as has_backtracking,
        count(*)::bigint as customers,
        round(count(*) / sum(count(*)) over (partition by path_kind), 4) as share_of_customers,
        row_number() over (partition by path_kind order by count(*) desc, path)::bigint as path_rank
    from paths
    group by path_kind, path
)

select * from final
