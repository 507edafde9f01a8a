-- One row per journey phase: how many customers reached it (any progress signal in it), how many went
-- on to the next phase, how many got no further than it, split by journey status (active, stalled,
-- dropped), and the median time from the first arrival in the phase to the first in the next.
with steps as (
    select * from {{ ref('int_journey_steps') }}
),

customers as (
    select
        customer_id,
        furthest_phase_index,
        journey_status
    from {{ ref('journey_progress') }}
),

arrivals as (
    select
        customer_id,
        phase_index,
        min(occurred_at) as first_arrived_at
    from steps
    where phase_move is not null and not is_pseudo_customer
    group by customer_id, phase_index
),

-- pseudo-customers (anonymous visitors, unlinked authors) are not customers; how many of them showed
-- up in each phase is reported beside the funnel, not in it
unlinked as (
    select
        phase_index,
        count(distinct customer_id)::bigint as unlinked_identities
    from steps
    where phase_move is not null and is_pseudo_customer
    group by phase_index
),

paired as (
    select
        this_phase.phase_index,
        this_phase.customer_id,
        next_phase.first_arrived_at as next_arrived_at,
        epoch(next_phase.first_arrived_at - this_phase.first_arrived_at) / 86400.0 as days_to_next
    from arrivals as this_phase
    left join arrivals as next_phase
        on this_phase.customer_id = next_phase.customer_id
            and next_phase.phase_index = this_phase.phase_index + 1
),

per_phase as (
    select
        paired.phase_index,
        count(*)::bigint as customers_reached,
        count(paired.next_arrived_at)::bigint as reached_next_phase,
        count_if(customers.furthest_phase_index = paired.phase_index)::bigint as furthest_here,
        count_if(customers.furthest_phase_index = paired.phase_index and customers.journey_status = 'active')::bigint as active_here,
        count_if(customers.furthest_phase_index = paired.phase_index and customers.journey_status = 'stalled')::bigint as stalled_here,
        count_if(customers.furthest_phase_index = paired.phase_index and customers.journey_status = 'dropped')::bigint as dropped_here,
        median(paired.days_to_next) filter (where paired.days_to_next >= 0) as median_days_to_next
    from paired
    inner join customers using (customer_id)
    group by paired.phase_index
),

phases as (
    select unnest(range(1, {{ last_phase_index() }} + 1)) as phase_index
),

final as (
    select
        {{ phase_name('phases.phase_index') }} as journey_phase,
        phases.phase_index,
        coalesce(per_phase.customers_reached, 0) as customers_reached,
        round(coalesce(per_phase.customers_reached, 0) / nullif((select count(*) from customers), 0), 4) as share_of_customers,
        case when phases.phase_index < {{ last_phase_index() }} then coalesce(per_phase.reached_next_phase, 0) end as reached_next_phase,
        case when phases.phase_index < {{ last_phase_index() }}
                then round(per_phase.reached_next_phase / nullif(per_phase.customers_reached, 0), 4)
        end as conversion_to_next,
        coalesce(per_phase.furthest_here, 0) as furthest_here,
        coalesce(per_phase.active_here, 0) as active_here,
        coalesce(per_phase.stalled_here, 0) as stalled_here,
        coalesce(per_phase.dropped_here, 0) as dropped_here,
        round(per_phase.dropped_here / nullif(per_phase.customers_reached, 0), 4) as drop_off_rate,
        round(per_phase.median_days_to_next, 2) as median_days_to_next,
        coalesce(unlinked.unlinked_identities, 0) as unlinked_identities
    from phases
    left join per_phase using (phase_index)
    left join unlinked using (phase_index)
)

select * from final
