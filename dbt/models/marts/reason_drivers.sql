-- Key drivers: which reasons raise high effort and churn, once the obvious confounder is held fixed, with
-- a 95% confidence interval and a p-value corrected for testing every reason, so that noise or the
-- contact burden is not reported as a driver. High effort is judged per episode (an episode of
-- `high_effort_contacts` contacts or more, or one left unresolved), within journey phases; churn per
-- customer with a billing event (a cancelled subscription), within customers who had a high-effort
-- episode and those who had none, so a reason is not blamed for the churn that hard episodes cause.
-- A reason's lift is the Mantel-Haenszel risk ratio over those strata, its interval the Greenland-Robins
-- one, and p-values are Holm-corrected over the reasons of each outcome.
with episodes as (
    select * from {{ ref('contact_episodes') }}
    where reason_code <> 'unknown'
),

-- Only customers billing knows can churn: the churn comparison is among them.
billing_customers as (
    select
        customer_id,
        bool_or({{ is_churn_event('interaction_type') }}) as is_churned
    from {{ ref('interactions') }}
    where touchpoint = 'billing'
    group by customer_id
),

reasons as (
    select distinct reason_code from episodes
),

effort_strata as (
    select
        'high_effort' as outcome,
        reasons.reason_code,
        coalesce(episodes.journey_phase, 'unassigned') as stratum,
        count(*) filter (where episodes.reason_code = reasons.reason_code) as exposed,
        count(*) filter (
            where episodes.reason_code = reasons.reason_code
            and {{ is_high_effort_episode('episodes.contacts', 'episodes.is_resolved') }}
        ) as exposed_events,
        count(*) filter (where episodes.reason_code <> reasons.reason_code) as unexposed,
        count(*) filter (
            where episodes.reason_code <> reasons.reason_code
            and {{ is_high_effort_episode('episodes.contacts', 'episodes.is_resolved') }}
        ) as unexposed_events
    from reasons
    cross join episodes
    group by all
),

customer_reasons as (
    select distinct
        customer_id,
        reason_code
    from episodes
),

customers as (
    select
        customer_id,
        billing_customers.is_churned,
        case when max(episodes.contacts) >= {{ var('high_effort_contacts') }} then 'had_high_effort_episode'
            else 'no_high_effort_episode'
        end as stratum
    from episodes
    inner join billing_customers using (customer_id)
    group by customer_id, billing_customers.is_churned
),

churn_strata as (
    select
        'churn' as outcome,
        reasons.reason_code,
        customers.stratum,
        count(customer_reasons.customer_id) as exposed,
        count(customer_reasons.customer_id) filter (where customers.is_churned) as exposed_events,
        count(*) filter (where customer_reasons.customer_id is null) as unexposed,
        count(*) filter (where customer_reasons.customer_id is null and customers.is_churned) as unexposed_events
    from reasons
    cross join customers
    left join customer_reasons
        on customers.customer_id = customer_reasons.customer_id and reasons.reason_code = customer_reasons.reason_code
    group by all
),

strata as (
    select
        *,
        (exposed + unexposed)::double as total
    from effort_strata
    union all
    select
        *,
        (exposed + unexposed)::double as total
    from churn_strata
),

pooled as (
    select
        outcome,
        reason_code,
        sum(exposed) as exposed,
        sum(exposed_events) as exposed_events,
        sum(unexposed) as unexposed,
        sum(unexposed_events) as unexposed_events,
        sum(exposed_events * unexposed / total) as mh_numerator,
        sum(unexposed_events * exposed / total) as mh_denominator,
        sum(
            (exposed * unexposed * (exposed_events + unexposed_events) - exposed_events * unexposed_events * total)
            / (total * total)
        ) as gr_numerator
    from strata
    where total > 0
    group by all
),

rated as (
    select
        *,
        exposed_events / nullif(exposed, 0) as exposed_rate,
        unexposed_events / nullif(unexposed, 0) as unexposed_rate,
        mh_numerator / nullif(mh_denominator, 0) as mh_lift,
        case when mh_numerator > 0 and mh_denominator > 0
                then sqrt(gr_numerator / (mh_numerator * mh_denominator))
        end as log_se
    from pooled
),

tested as (
    select
        *,
        case when log_se > 0 then {{ two_sided_p_value('ln(mh_lift) / log_se') }} end as p_value
    from rated
),

ranked as (
    select
        *,
        row_number() over (partition by outcome, p_value is null order by p_value, reason_code) as rank_in_outcome,
        count(p_value) over (partition by outcome) as m
    from tested
),

-- Holm: the i-th smallest of m p-values times (m - i + 1), never below the one before it, at most 1
corrected as (
    select
        *,
        case when p_value is not null then max(least(1.0, (m - rank_in_outcome + 1) * p_value)) over (
                    partition by outcome, p_value is null order by p_value, reason_code rows between unbounded preceding and current row
                )
        end as p_value_holm
    from ranked
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
        round(mh_lift, 2) as lift,
        round(exp(ln(mh_lift) - 1.96 * log_se), 2) as lift_ci_low,
        round(exp(ln(mh_lift) + 1.96 * log_se), 2) as lift_ci_high,
        round(p_value, 4) as p_value,
        round(p_value_holm, 4) as p_value_holm,
        coalesce(
            exposed_events >= {{ var('driver_min_events') }}
            and exp(ln(mh_lift) - 1.96 * log_se) > 1
            and mh_lift >= {{ var('driver_min_lift') }}
            and p_value_holm < {{ var('driver_significance') }}, false
        ) as is_driver
    from corrected
)

select * from final
