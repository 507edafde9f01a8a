-- The link from effort to churn and revenue. Each customer gets an effort band and an outcome group
-- from their contact episodes and CES answers; churn (a cancelled subscription) and revenue (paid
-- invoices) come from billing events, so the customers are those billing knows (with any billing
-- event). Rows: per effort band, per outcome group, and per root cause the
-- revenue at risk: what customers still with us, whose latest episode on that reason is unresolved,
-- pay, times the churn rate of customers left with an unresolved issue.
with interactions as (
    select * from {{ ref('interactions') }}
),

episodes as (
    select * from {{ ref('contact_episodes') }}
),

billing as (
    select
        customer_id,
        bool_or({{ is_churn_event('interaction_type') }}) as churned,
        coalesce(sum(amount) filter (where interaction_type = 'invoice_paid'), 0)::decimal(18, 2) as revenue
    from interactions
    where touchpoint = 'billing'
    group by customer_id
),

surveys as (
    select
        customer_id,
        avg(ces) as ces_mean
    from interactions
    where ces is not null
    group by customer_id
),

effort as (
    select
        customer_id,
        count(*) as episodes,
        bool_or({{ is_high_effort_episode('contacts', 'is_resolved') }}) as had_high_effort_episode,
        count_if(not is_resolved) as unresolved_episodes,
        bool_and(is_first_contact_resolution) as all_first_contact
    from episodes
    group by customer_id
),

customers as (
    select
        billing.customer_id,
        billing.churned,
        billing.revenue,
        case
            when effort.had_high_effort_episode or surveys.ces_mean <= {{ var('ces_hard_max') }} then 'high'
            when effort.episodes is null or (effort.all_first_contact and coalesce(surveys.ces_mean, 7) > {{ var('ces_hard_max') }}) then 'low'
            else 'medium'
        end as effort_band,
        case
            when effort.episodes is null then 'no_contact'
            when effort.unresolved_episodes > 0 then 'some_unresolved'
            else 'all_resolved'
        end as outcome_group
    from billing
    left join effort using (customer_id)
    left join surveys using (customer_id)
),

overall as (
    select
        count_if(churned) / count(*) as churn_rate,
        count_if(churned) filter (where outcome_group = 'some_unresolved')
        / nullif(count(*) filter (where outcome_group = 'some_unresolved'), 0) as unresolved_churn_rate
    from customers
),

grouped as (
    select
        'effort_band' as dimension,
        effort_band as grp,
        count(*)::bigint as customers,
        count_if(churned)::bigint as churned_customers,
        sum(revenue)::decimal(18, 2) as revenue,
        null::decimal(18, 2) as revenue_at_risk
    from customers
    group by effort_band
    union all
    select
        'outcome' as dimension,
        outcome_group as grp,
        count(*)::bigint as customers,
        count_if(churned)::bigint as churned_customers,
        sum(revenue)::decimal(18, 2) as revenue,
        null as revenue_at_risk
    from customers
    group by outcome_group
),

latest_episode as (
    select
        customer_id,
        reason_code,
        arg_max(is_resolved, last_contact_at) as latest_resolved
    from episodes
    where reason_code <> 'unknown'
    group by customer_id, reason_code
),

at_risk as (
    select
        'root_cause' as dimension,
        latest_episode.reason_code as grp,
        count(*)::bigint as customers,
        count_if(customers.churned)::bigint as churned_customers,
        sum(customers.revenue)::decimal(18, 2) as revenue,
        (sum(customers.revenue) filter (where not customers.churned) * any_value(overall.unresolved_churn_rate))::decimal(18, 2)
            as revenue_at_risk
    from latest_episode
    inner join customers using (customer_id)
    cross join overall
    where not latest_episode.latest_resolved
    group by latest_episode.reason_code
),

final as (
    select
        rows.dimension,
        rows.grp as segment,
        rows.customers,
        rows.churned_customers,
        round(rows.churned_customers / rows.customers, 4) as churn_rate,
        round(rows.churned_customers / rows.customers / nullif(overall.churn_rate, 0), 2) as churn_lift,
        rows.revenue,
        round(rows.revenue / rows.customers, 2)::decimal(18, 2) as revenue_per_customer,
        rows.revenue_at_risk
    from (
        select * from grouped
        union all
        select * from at_risk
    ) as rows
    cross join overall
)

select * from final
