-- Key drivers: which reasons raise high effort and churn, with a 95% confidence interval so that noise
-- is not reported as a driver. High effort is judged per episode (an episode of `high_effort_contacts`
-- contacts or more, or one left unresolved), churn per customer with a billing event (a cancelled
-- subscription). A reason's
-- lift is its rate over the rate without it; the interval is the log-method interval of that risk ratio.
with episodes as (
    select * from {{ ref('contact_episodes') }} where reason_code <> 'unknown'
),

-- Only customers billing knows can churn: the churn comparison is among them.
billing_customers as (
    select customer_id, bool_or(interaction_type = 'subscription_cancelled') as is_churned
    from {{ ref('interactions') }}
    where touchpoint = 'billing'
    group by customer_id
),

reasons as (
    select distinct reason_code from episodes
),

effort_cells as (
    select
        'high_effort' as outcome,
        reasons.reason_code,
        count(*) filter (where episodes.reason_code = reasons.reason_code) as exposed,
        count(*) filter (where episodes.reason_code = reasons.reason_code
                         and (episodes.contacts >= {{ var('high_effort_contacts') }} or not episodes.is_resolved)) as exposed_events,
        count(*) filter (where episodes.reason_code <> reasons.reason_code) as unexposed,
        count(*) filter (where episodes.reason_code <> reasons.reason_code
                         and (episodes.contacts >= {{ var('high_effort_contacts') }} or not episodes.is_resolved)) as unexposed_events
    from reasons
    cross join episodes
    group by reasons.reason_code
),

customer_reasons as (
    select distinct customer_id, reason_code from episodes
),

customers as (
    select customer_id, billing_customers.is_churned
    from (select distinct customer_id from episodes)
    join billing_customers using (customer_id)
),

churn_cells as (
    select
        'churn' as outcome,
        reasons.reason_code,
        count(*) filter (where had_reason) as exposed,
        count(*) filter (where had_reason and customers.is_churned) as exposed_events,
        count(*) filter (where not had_reason) as unexposed,
        count(*) filter (where not had_reason and customers.is_churned) as unexposed_events
    from reasons
    cross join customers
    cross join lateral (
        select exists (select 1 from customer_reasons cr
                       where cr.customer_id = customers.customer_id and cr.reason_code = reasons.reason_code) as had_reason
    )
    group by reasons.reason_code
),

cells as (
    select * from effort_cells
    union all
    select * from churn_cells
),

rated as (
    select
        *,
        exposed_events / nullif(exposed, 0) as exposed_rate,
        unexposed_events / nullif(unexposed, 0) as unexposed_rate,
        case when exposed_events > 0 and unexposed_events > 0
             then sqrt(1.0 / exposed_events - 1.0 / exposed + 1.0 / unexposed_events - 1.0 / unexposed) end as log_se
    from cells
),

final as (
    select
        outcome,
        reason_code,
        exposed::bigint as exposed,
        exposed_events::bigint as exposed_events,
        round(exposed_rate, 4) as exposed_rate,
        unexposed::bigint as unexposed,
        unexposed_events::bigint as unexposed_events,
        round(unexposed_rate, 4) as unexposed_rate,
        round(exposed_rate / nullif(unexposed_rate, 0), 2) as lift,
        round(exp(ln(exposed_rate / unexposed_rate) - 1.96 * log_se), 2) as lift_ci_low,
        round(exp(ln(exposed_rate / unexposed_rate) + 1.96 * log_se), 2) as lift_ci_high,
        coalesce(exposed_events >= {{ var('driver_min_events') }}
                 and exp(ln(exposed_rate / unexposed_rate) - 1.96 * log_se) > 1
                 and exposed_rate / unexposed_rate >= {{ var('driver_min_lift') }}, false) as is_driver
    from rated
)

select * from final
