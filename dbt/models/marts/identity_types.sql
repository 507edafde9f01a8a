-- One row per identifier type that names a customer ('account', 'email', 'anon', 'social', ...): how
-- many customer ids of that type there are and what they did. Pseudo-customers (var
-- pseudo_customer_types) are reported here, apart from the customers every other mart counts.
with interactions as (
    select
        customer_id,
        customer_id_type,
        is_pseudo_customer,
        is_contact,
        phase_signal,
        occurred_at
    from {{ ref('stg_cx__interactions') }}
),

final as (
    select
        customer_id_type,
        bool_or(is_pseudo_customer) as is_pseudo_customer,
        count(distinct customer_id)::bigint as customer_ids,
        count(*)::bigint as interactions,
        count_if(is_contact)::bigint as contacts,
        count_if(phase_signal = 'milestone')::bigint as milestones,
        round(count(*) / sum(count(*)) over (), 4) as share_of_interactions,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from interactions
    group by customer_id_type
)

select * from final
