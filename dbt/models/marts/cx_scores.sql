-- The standard CX scores, each with its number of answers and a 95% confidence interval, by journey
-- phase, touchpoint, reason and month (and overall): NPS (% promoters 9-10 minus % detractors 0-6),
-- CSAT (% answering 4-5), CES 2.0 (mean, and % answering ces_easy_min or more). Small cells are flagged,
-- not dropped; the first and the last month of the data, which it covers only in part, are marked partial.
with answers as (
    select
        date_trunc('month', occurred_at)::date as month,
        coalesce(journey_phase, 'unassigned') as journey_phase,
        coalesce({{ surveyed_touchpoint('source_code') }}, 'unknown') as touchpoint,
        coalesce(reason_code, 'no_reason_given') as reason_code,
        nps,
        csat,
        ces
    from {{ ref('interactions') }}
    where interaction_type = 'survey_response' and (nps is not null or csat is not null or ces is not null)
),

data_span as (
    {{ data_span(ref('interactions')) }}
),

cells as (
    {%- for dimension, value in [('all', "'all'"), ('journey_phase', 'journey_phase'), ('touchpoint', 'touchpoint'),
                                 ('reason_code', 'reason_code')] %}
        select
            '{{ dimension }}' as dimension,
            {{ value }} as value,
            month,
            nps,
            csat,
            ces
        from answers
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

counted as (
    select
        dimension,
        value,
        month,
        count(nps)::bigint as nps_answers,
        count_if(nps >= 9)::bigint as promoters,
        count_if(nps <= 6)::bigint as detractors,
        count(csat)::bigint as csat_answers,
        count_if(csat >= 4)::bigint as csat_satisfied,
        count(ces)::bigint as ces_answers,
        avg(ces) as ces_mean,
        stddev_samp(ces) as ces_sd,
        count_if(ces >= {{ var('ces_easy_min') }})::bigint as ces_easy
    from cells
    group by all
),

scored as (
    select
        *,
        100.0 * (promoters - detractors) / nullif(nps_answers, 0) as nps,
        -- the NPS of n answers is a mean of +100 / 0 / -100 scores: its standard error from their variance
        1.96 * 100 * sqrt((
            promoters / nullif(nps_answers, 0) + detractors / nullif(nps_answers, 0)
            - pow((promoters - detractors) / nullif(nps_answers, 0), 2)
        ) / nullif(nps_answers, 0)) as nps_margin,
        100.0 * csat_satisfied / nullif(csat_answers, 0) as csat_pct,
        {{ wilson_low('csat_satisfied', 'csat_answers') }} as csat_pct_low,
        {{ wilson_high('csat_satisfied', 'csat_answers') }} as csat_pct_high,
        ces_mean - 1.96 * ces_sd / sqrt(nullif(ces_answers, 0)) as ces_mean_low,
        ces_mean + 1.96 * ces_sd / sqrt(nullif(ces_answers, 0)) as ces_mean_high,
        100.0 * ces_easy / nullif(ces_answers, 0) as ces_easy_pct,
        {{ wilson_low('ces_easy', 'ces_answers') }} as ces_easy_pct_low,
        {{ wilson_high('ces_easy', 'ces_answers') }} as ces_easy_pct_high
    from counted
)

-- rounded: the same answers give the same figures whatever order a parallel sum took them in
select
    dimension,
    value,
    month,
    nps_answers,
    promoters,
    detractors,
    csat_answers,
    csat_satisfied,
    ces_answers,
    round(ces_mean, 4) as ces_mean,
    ces_easy,
    round(nps, 4) as nps,
    round(csat_pct, 4) as csat_pct,
    round(csat_pct_low, 4) as csat_pct_low,
    round(csat_pct_high, 4) as csat_pct_high,
    round(ces_mean_low, 4) as ces_mean_low,
    round(ces_mean_high, 4) as ces_mean_high,
    round(ces_easy_pct, 4) as ces_easy_pct,
    round(ces_easy_pct_low, 4) as ces_easy_pct_low,
    round(ces_easy_pct_high, 4) as ces_easy_pct_high,
    round(nps - nps_margin, 4) as nps_low,
    round(nps + nps_margin, 4) as nps_high,
    nps_answers < {{ var('min_cell_answers') }} as nps_small_n,
    csat_answers < {{ var('min_cell_answers') }} as csat_small_n,
    ces_answers < {{ var('min_cell_answers') }} as ces_small_n,
    {{ is_partial_month('month') }} as is_partial_month
from scored
cross join data_span
