{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='delete+insert') }}

with interactions as (
    select * from {{ ref('stg_cx__interactions') }}
    {% if is_incremental() %}
    where customer_id in ({{ refreshed_customers(ref('stg_cx__interactions'), 'occurred_at') }})
    {% endif %}
),

journey as (
    select
        interaction_id,
        journey_phase,
        journey_phase_source,
        phase_move
    from {{ ref('int_journey_steps') }}
),

contacts as (
    select
        interaction_id,
        episode_id,
        is_repeat_contact,
        is_followed_by_repeat,
        effective_outcome,
        is_self_service_failure
    from {{ ref('int_contacts_sequenced') }}
),

final as (
    select
        interactions.* exclude (outcome, attributes, journey_phase),
        journey.journey_phase,
        journey.journey_phase_source,
        journey.phase_move,
        interactions.outcome as recorded_outcome,
        coalesce(contacts.effective_outcome, interactions.outcome) as outcome,
        contacts.episode_id,
        coalesce(contacts.is_repeat_contact, false) as is_repeat_contact,
        coalesce(contacts.is_followed_by_repeat, false) as is_followed_by_repeat,
        coalesce(contacts.is_self_service_failure, false) as is_self_service_failure,
        date_trunc('month', interactions.occurred_at)::date as occurred_month,
        interactions.attributes
    from interactions
    left join contacts using (interaction_id)
    left join journey using (interaction_id)
)

select * from final
