-- Key drivers: which reasons raise high effort and churn once the obvious confounders are held fixed,
-- with a 95% confidence interval, a p-value corrected for testing every reason, and a check that the
-- finding survives resampling customers, so that noise, the contact burden or one busy customer is not
-- reported as a driver. High effort is judged per episode (is_high_effort_episode) within journey phase
-- x first touchpoint; churn per customer with a billing event (a cancelled subscription) within
-- whether they had a high-effort episode x how many episodes they had, so a reason is not blamed for
-- the churn that hard or many episodes cause. A reason's lift is the Mantel-Haenszel risk ratio over
-- the strata, its interval the Greenland-Robins one, p-values are Holm-corrected over the reasons of
-- each outcome, and the same lift is recomputed on driver_bootstrap_samples resamples of customers
-- (Poisson bootstrap: each customer weighs a Poisson(1) count drawn from a hash, so reruns agree).
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

-- What is compared: a unit (an episode, or a customer), its stratum, whether the outcome happened,
-- and the customer it belongs to (whom the bootstrap resamples).
effort_units as (
    select
        'high_effort' as outcome,
        episode_id as unit_id,
        customer_id,
        coalesce(journey_phase, 'unassigned') || ' / ' || coalesce(first_touchpoint, 'unknown') as stratum,
        {{ is_high_effort_episode('contacts', 'is_resolved') }} as is_event
    from episodes
),

churn_units as (
    select
        'churn' as outcome,
        episodes.customer_id as unit_id,
        episodes.customer_id,
        case when max(episodes.contacts) >= {{ var('high_effort_contacts') }} then 'had_high_effort_episode'
            else 'no_high_effort_episode'
        end || ' / ' || case when count(*) >= 3 then '3+' else count(*)::varchar end || ' episodes' as stratum,
        any_value(billing_customers.is_churned) as is_event
    from episodes
    inner join billing_customers using (customer_id)
    group by episodes.customer_id
),

units as (
    select * from effort_units
    union all
    select * from churn_units
),

unit_reasons as (
    select
        'high_effort' as outcome,
        episode_id as unit_id,
        reason_code
    from episodes
    union
    select
        'churn' as outcome,
        customer_id as unit_id,
        reason_code
    from episodes
),

-- sample 0 is the data as it is; samples 1..B weigh each customer by a Poisson(1) draw
samples as (
    select unnest(range(0, {{ var('driver_bootstrap_samples') }} + 1)) as sample
),

weights as (
    select
        customers.customer_id,
        samples.sample,
        case
            when samples.sample = 0 then 1
            else {{ poisson_one_draw('hash(customers.customer_id, samples.sample) % 1000003 / 1000003.0') }}
        end as weight
    from (select distinct customer_id from episodes) as customers
    cross join samples
),

weighted_units as (
    select
        units.*,
        weights.sample,
        weights.weight
    from units
    inner join weights using (customer_id)
    where weights.weight > 0
),

stratum_totals as (
    select
        outcome,
        sample,
        stratum,
        sum(weight)::double as total,
        sum(weight) filter (where is_event)::double as total_events
    from weighted_units
    group by all
),

exposed_strata as (
    select
        weighted_units.outcome,
        weighted_units.sample,
        unit_reasons.reason_code,
        weighted_units.stratum,
        sum(weighted_units.weight)::double as exposed,
        coalesce(sum(weighted_units.weight) filter (where weighted_units.is_event), 0)::double as exposed_events
    from weighted_units
    inner join unit_reasons using (outcome, unit_id)
    group by all
),

-- a stratum without the reason adds nothing to the Mantel-Haenszel sums, so only exposed strata count
strata as (
    select
        exposed_strata.*,
        stratum_totals.total - exposed_strata.exposed as unexposed,
        coalesce(stratum_totals.total_events, 0) - exposed_strata.exposed_events as unexposed_events,
        stratum_totals.total
    from exposed_strata
    inner join stratum_totals using (outcome, sample, stratum)
),

overall as (
    select
        outcome,
        sample,
        sum(total) as total,
        coalesce(sum(total_events), 0) as total_events
    from stratum_totals
    group by all
),

pooled as (
    select
        strata.outcome,
        strata.sample,
        strata.reason_code,
        sum(strata.exposed) as exposed,
        sum(strata.exposed_events) as exposed_events,
        any_value(overall.total) - sum(strata.exposed) as unexposed,
        any_value(overall.total_events) - sum(strata.exposed_events) as unexposed_events,
        sum(strata.exposed_events * strata.unexposed / strata.total) as mh_numerator,
        sum(strata.unexposed_events * strata.exposed / strata.total) as mh_denominator,
        sum(
            (
                strata.exposed * strata.unexposed * (strata.exposed_events + strata.unexposed_events)
                - strata.exposed_events * strata.unexposed_events * strata.total
            )
            / (strata.total * strata.total)
        ) as gr_numerator
    from strata
    inner join overall using (outcome, sample)
    group by all
),

rated as (
    select
        *,
        mh_numerator / nullif(mh_denominator, 0) as mh_lift,
        case when mh_numerator > 0 and mh_denominator > 0
                then sqrt(gr_numerator / (mh_numerator * mh_denominator))
        end as log_se
    from pooled
),

selected as (
    select
        *,
        coalesce(
            exposed_events >= {{ var('driver_min_events') }}
            and exp(ln(mh_lift) - 1.96 * log_se) > 1
            and mh_lift >= {{ var('driver_min_lift') }}, false
        ) as passes_effect_tests
    from rated
),

stability as (
    select
        outcome,
        reason_code,
        count_if(passes_effect_tests) / {{ var('driver_bootstrap_samples') }} as bootstrap_selected_share
    from selected
    where sample > 0
    group by all
),

tested as (
    select
        *,
        exposed_events / nullif(exposed, 0) as exposed_rate,
        unexposed_events / nullif(unexposed, 0) as unexposed_rate,
        case when log_se > 0 then {{ two_sided_p_value('ln(mh_lift) / log_se') }} end as p_value
    from selected
    where sample = 0
),

ranked as (
    select
        *,
        row_number() over (partition by outcome, p_value is null order by p_value, reason_code) as rank_in_outcome,
        count(p_value) over (partition by outcome) as m
    from tested
),

-- Holm: the i-th smallest of m p-values times (m - i + 1), never below the one before it, at most 1;
-- reasons without a p-value are ranked apart and stay null (DuckDB's least() would skip the null)
corrected as (
    select
        *,
        max(case when p_value is not null then least(1.0, (m - rank_in_outcome + 1) * p_value) end) over (
            partition by outcome, p_value is null
            order by p_value, reason_code
            rows between unbounded preceding and current row
        ) as p_value_holm
    from ranked
),

final as (
    select
        corrected.outcome,
        corrected.reason_code,
        corrected.exposed::bigint as exposed,
        corrected.exposed_events::bigint as exposed_events,
        round(corrected.exposed_rate, 4) as exposed_rate,
        corrected.unexposed::bigint as unexposed,
        corrected.unexposed_events::bigint as unexposed_events,
        round(corrected.unexposed_rate, 4) as unexposed_rate,
        round(corrected.mh_lift, 2) as lift,
        round(exp(ln(corrected.mh_lift) - 1.96 * corrected.log_se), 2) as lift_ci_low,
        round(exp(ln(corrected.mh_lift) + 1.96 * corrected.log_se), 2) as lift_ci_high,
        round(corrected.p_value, 4) as p_value,
        round(corrected.p_value_holm, 4) as p_value_holm,
        round(coalesce(stability.bootstrap_selected_share, 0), 4) as bootstrap_selected_share,
        coalesce(
            corrected.passes_effect_tests
            and corrected.p_value_holm < {{ var('driver_significance') }}
            and coalesce(stability.bootstrap_selected_share, 0) >= {{ var('driver_min_stability') }}, false
        ) as is_driver
    from corrected
    left join stability using (outcome, reason_code)
)

select * from final
