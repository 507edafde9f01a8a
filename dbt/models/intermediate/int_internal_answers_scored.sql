-- The internal perception survey scored: one row per response x question x journey phase, on 0-100 so
-- leadership, staff and customers compare on one scale. The form's grid columns are
-- "<question> [<phase label>]"; which question is which comes from the var `perception_questions`.
{%- set questions = var('perception_questions') %}
with cells as (
    select * from {{ ref('stg_cx__internal_answers') }}
),

grid as (
    select
        *,
        regexp_extract(column_name, '^(.*) \[(.*)\]$', 1) as question_text,
        regexp_extract(column_name, '^(.*) \[(.*)\]$', 2) as area
    from cells
),

scales as (
    select
        response_id,
        answered_at,
        respondent_group,
        team,
        case question_text
            when '{{ questions.ease }}' then 'ease'
            when '{{ questions.does_well }}' then 'does_well'
        end as question,
        {{ phase_code('area') }} as journey_phase,
        answer::integer as answer
    from grid
    where answer is not null
),

ticked as (
    select
        response_id,
        answered_at,
        respondent_group,
        team,
        string_split(coalesce(answer, ''), ', ') as labels
    from cells
    where column_name = '{{ questions.needs_improving }}'
),

phases (code, label) as (
    values
    {%- for code, label in journey_phases() %}
        ('{{ code }}', '{{ label }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
),

needs_improving as (
    select
        ticked.response_id,
        ticked.answered_at,
        ticked.respondent_group,
        ticked.team,
        'needs_improving' as question,
        phases.code as journey_phase,
        case when list_contains(ticked.labels, phases.label) then 100.0 else 0.0 end as score
    from ticked
    cross join phases
),

final as (
    select
        response_id,
        answered_at,
        respondent_group,
        team,
        question,
        journey_phase,
        case question when 'ease' then (answer - 1) / 6 * 100 else (answer - 1) / 4 * 100 end as score
    from scales
    where question is not null and journey_phase is not null
    union all
    select * from needs_improving
)

select * from final
