-- Each interaction in its customer's journey: the phase it signals (or, if it signals none, the phase
-- the customer was last in) and how the customer moved to get there.
with interactions as (
    select interaction_id, customer_id, occurred_at, touchpoint, journey_phase
    from {{ ref('stg_cx__interactions') }}
),

indexed as (
    select
        *,
        case journey_phase
            when 'looking_and_deciding' then 1
            when 'taking_the_leap' then 2
            when 'i_have_it_now_what' then 3
            when 'first_success' then 4
            when 'part_of_core' then 5
            when 'telling_others' then 6
        end as phase_index
    from interactions
),

with_history as (
    select
        *,
        last_value(journey_phase ignore nulls) over earlier as previous_phase,
        last_value(phase_index ignore nulls) over earlier as previous_phase_index,
        last_value(case when phase_index is not null then touchpoint end ignore nulls) over earlier as previous_phase_touchpoint
    from indexed
    window earlier as (partition by customer_id order by occurred_at, interaction_id
                       rows between unbounded preceding and 1 preceding)
),

final as (
    select
        interaction_id,
        customer_id,
        occurred_at,
        coalesce(phase_index, previous_phase_index) as phase_index,
        coalesce(journey_phase, previous_phase) as journey_phase,
        case when journey_phase is not null then 'tagged' when previous_phase is not null then 'history' end as journey_phase_source,
        case
            when phase_index is null then null
            when previous_phase_index is null then 'start'
            when phase_index > previous_phase_index then 'forward'
            when phase_index = 1 and previous_phase_index >= 3 then 'restart'
            when phase_index < previous_phase_index then 'back'
            when touchpoint <> previous_phase_touchpoint then 'sideways'
        end as phase_move
    from with_history
)

select * from final
