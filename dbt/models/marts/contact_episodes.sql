{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='delete+insert') }}
-- depends_on: {{ ref('stg_cx__interactions') }}

with episodes as (
    select * from {{ ref('int_contact_episodes_grouped') }}
    {% if is_incremental() %}
    where customer_id in ({{ refreshed_customers(ref('stg_cx__interactions'), 'last_contact_at') }})
    {% endif %}
),

final as (
    select
        episode_id,
        customer_id,
        reason_code,
        reason_dimension,
        journey_phase,
        first_touchpoint,
        started_at,
        last_contact_at,
        date_trunc('month', started_at)::date as started_month,
        contacts,
        contacts - 1 as repeat_contacts,
        channel_switches,
        transfers,
        was_escalated,
        is_resolved,
        is_first_contact_resolution,
        had_self_service_failure,
        hours_to_resolution,
        last_outcome
    from episodes
)

select * from final
