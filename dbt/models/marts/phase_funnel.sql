-- One row per journey phase: how many customers reached it, how many went on to the next phase,
-- how many stopped there (it is the furthest they got), and the median time to the next phase.
-- "Reached" means any phase signal in that phase; times are from the first arrival in each phase.
with steps as (
    select * from {{ ref('int_journey_steps') }} where phase_move is not null
),

arrivals as (
    select customer_id, phase_index, min(occurred_at) as first_arrived_at
    from steps
    group by customer_id, phase_index
),

furthest as (
    select customer_id, max(phase_index) as furthest_phase_index from arrivals group by customer_id
),

paired as (
    select
        this_phase.phase_index,
        this_phase.customer_id,
        next_phase.first_arrived_at as next_arrived_at,
        epoch(next_phase.first_arrived_at - this_phase.first_arrived_at) / 86400.0 as days_to_next
    from arrivals as this_phase
    left join arrivals as next_phase
        on next_phase.customer_id = this_phase.customer_id
        and next_phase.phase_index = this_phase.phase_index + 1
),

per_phase as (
    select
        paired.phase_index,
        count(*)::bigint as customers_reached,
        count(paired.next_arrived_at)::bigint as reached_next_phase,
        count_if(furthest.furthest_phase_index = paired.phase_index)::bigint as dropped_off,
        median(paired.days_to_next) filter (where paired.days_to_next >= 0) as median_days_to_next
    from paired
    join furthest using (customer_id)
    group by paired.phase_index
),

phases as (
    select unnest(range(1, 7)) as phase_index
),

final as (
    select
        {{ phase_name('phases.phase_index') }} as journey_phase,
        phases.phase_index,
        coalesce(per_phase.customers_reached, 0) as customers_reached,
        round(coalesce(per_phase.customers_reached, 0) / nullif((select count(*) from furthest), 0), 4) as share_of_customers,
        case when phases.phase_index < 6 then coalesce(per_phase.reached_next_phase, 0) end as reached_next_phase,
        case when phases.phase_index < 6
             then round(per_phase.reached_next_phase / nullif(per_phase.customers_reached, 0), 4) end as conversion_to_next,
        coalesce(per_phase.dropped_off, 0) as dropped_off,
        round(per_phase.dropped_off / nullif(per_phase.customers_reached, 0), 4) as drop_off_rate,
        round(per_phase.median_days_to_next, 2) as median_days_to_next
    from phases
    left join per_phase using (phase_index)
)

select * from final
