{#- The touchpoint a survey asked about (Qualtrics' Q_Touchpoint, in source_code), named as touchpoints are. -#}
{% macro surveyed_touchpoint(column) %}
    case lower({{ column }}) when 'call' then 'call_center' when 'phone' then 'call_center' else lower({{ column }}) end
{% endmacro %}

{#- The effort index (docs: effort_index): the weighted mean, over the parts that have data, of the
    parts on 0-1 scaled to 0-100; null when no part has data. Weights: var('effort_index_weights').
    DuckDB's least() skips nulls (least(null, 1) = 1), so a capped part keeps its null explicitly. -#}
{% macro effort_index() %}
    {%- set weights = var('effort_index_weights') -%}
    {%- set parts = [
        ('ces', '(7 - ces_mean) / 6'),
        ('repeat_contacts', 'repeat_contact_rate'),
        ('not_first_contact', '1 - fcr_rate'),
        ('transfers', 'case when transfers_per_episode is not null then least(transfers_per_episode, 1) end'),
        ('channel_switches', 'case when channel_switches_per_episode is not null then least(channel_switches_per_episode, 1) end'),
    ] -%}
    round(100 * (
        {%- for name, part in parts %}
        coalesce({{ weights[name] }} * ({{ part }}), 0){% if not loop.last %} +{% endif %}
        {%- endfor %}
    ) / nullif(
        {%- for name, part in parts %}
        case when ({{ part }}) is not null then {{ weights[name] }} else 0 end{% if not loop.last %} +{% endif %}
        {%- endfor %}
    , 0), 1)
{%- endmacro %}

{#- Customer effort measures (GUIDE section 5) over contact episodes and CES answers, grouped by
    journey_phase, month and, with by_touchpoint, the touchpoint: the episode's first contact's, or the
    one the survey asked about. Survey answers come from the interactions mart, so an answer without a
    verbatim (no reason, no phase of its own) counts in the phase the customer was in. Counts are kept
    next to the rates so months roll up with weights. -#}
{% macro effort_rollup(episodes_relation, interactions_relation, by_touchpoint=false) %}
{%- set keys = ['journey_phase', 'month'] + (['touchpoint'] if by_touchpoint else []) -%}
with episodes as (
    select *, first_touchpoint as touchpoint
    from {{ episodes_relation }}
    where journey_phase is not null
),

surveys as (
    select *, {{ surveyed_touchpoint('source_code') }} as surveyed
    from {{ interactions_relation }}
    where interaction_type = 'survey_response' and ces is not null and journey_phase is not null
),

episode_effort as (
    select
        journey_phase,
        started_month as month,
        {% if by_touchpoint %}touchpoint,{% endif %}
        count(*)::bigint as episodes,
        count_if(is_resolved)::bigint as resolved_episodes,
        sum(contacts)::bigint as contacts,
        sum(repeat_contacts)::bigint as repeat_contacts,
        count_if(is_first_contact_resolution)::bigint as first_contact_resolutions,
        sum(channel_switches)::bigint as channel_switches,
        sum(transfers)::bigint as transfers,
        count_if(had_self_service_failure)::bigint as self_service_failures,
        median(hours_to_resolution) as hours_to_resolution_median,
        quantile_cont(hours_to_resolution, 0.9) as hours_to_resolution_p90
    from episodes
    group by all
),

survey_effort as (
    select
        journey_phase,
        date_trunc('month', occurred_at)::date as month,
        {% if by_touchpoint %}coalesce(surveyed, 'unknown') as touchpoint,{% endif %}
        count(*)::bigint as ces_responses,
        avg(ces) as ces_mean,
        count_if(ces >= {{ var('ces_easy_min') }})::bigint as ces_easy_responses
    from surveys
    group by all
),

joined as (
    select
        {% for key in keys %}coalesce(e.{{ key }}, s.{{ key }}) as {{ key }},
        {% endfor %}
        coalesce(e.episodes, 0) as episodes,
        coalesce(e.resolved_episodes, 0) as resolved_episodes,
        coalesce(e.contacts, 0) as contacts,
        coalesce(e.repeat_contacts, 0) as repeat_contacts,
        coalesce(e.first_contact_resolutions, 0) as first_contact_resolutions,
        coalesce(e.channel_switches, 0) as channel_switches,
        coalesce(e.transfers, 0) as transfers,
        coalesce(e.self_service_failures, 0) as self_service_failures,
        e.hours_to_resolution_median,
        e.hours_to_resolution_p90,
        coalesce(s.ces_responses, 0) as ces_responses,
        s.ces_mean,
        coalesce(s.ces_easy_responses, 0) as ces_easy_responses
    from episode_effort as e
    full outer join survey_effort as s
        on {% for key in keys %}e.{{ key }} = s.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
),

data_span as (
    {{ data_span(interactions_relation) }}
),

rates as (
    select
        *,
        ces_easy_responses / nullif(ces_responses, 0) as ces_easy_rate,
        contacts / nullif(resolved_episodes, 0) as contacts_per_resolved_episode,
        repeat_contacts / nullif(contacts, 0) as repeat_contact_rate,
        first_contact_resolutions / nullif(episodes, 0) as fcr_rate,
        channel_switches / nullif(episodes, 0) as channel_switches_per_episode,
        transfers / nullif(episodes, 0) as transfers_per_episode,
        self_service_failures / nullif(episodes, 0) as self_service_failure_rate
    from joined
)

select
    rates.*,
    {{ effort_index() }} as effort_index,
    {{ is_partial_month('rates.month') }} as is_partial_month
from rates
cross join data_span
{% endmacro %}

{#- The first and last moment of the data (over every interaction): months the data covers only in part. -#}
{% macro data_span(interactions_relation) %}
    select min(occurred_at) as earliest, max(occurred_at) as latest from {{ interactions_relation }}
{% endmacro %}

{#- Whether `month` (a first of month) is one the data covers only in part: the data starts after its
    first day or ends before its last day. A chart should not read a drop in such a month as a change.
    Needs data_span (above) in scope. -#}
{% macro is_partial_month(month) %}
    coalesce(({{ month }} = date_trunc('month', data_span.earliest)::date and data_span.earliest::date > {{ month }})
        or ({{ month }} = date_trunc('month', data_span.latest)::date
            and data_span.latest::date < ({{ month }} + interval 1 month - interval 1 day)::date), false)
{% endmacro %}
