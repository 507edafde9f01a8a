-- The internal perception survey, one row per response x question x journey phase, scored 0-100 so
-- leadership, staff and customers compare on one scale. The form's grid columns are
-- "<question> [<phase label>]"; which question is which comes from the var `perception_questions`.
{%- set questions = var('perception_questions') %}
with responses as (
    select
        interaction_id as response_id,
        occurred_at::timestamptz as answered_at,
        source_code as respondent_group,
        team,
        json_transform(attributes, '"MAP(VARCHAR, VARCHAR)"') as answers
    from {{ source('cx', 'interactions') }}
    where interaction_type = 'internal_survey_response'
),

cells as (
    select response_id, answered_at, respondent_group, team, cell.key as column_name, nullif(trim(cell.value), '') as answer
    from responses, unnest(map_entries(answers)) as entries(cell)
),

grid as (
    select *, regexp_extract(column_name, '^(.*) \[(.*)\]$', ['question_text', 'area']) as parts
    from cells
),

scales as (
    select
        response_id, answered_at, respondent_group, team,
        case parts.question_text
            when '{{ questions.ease }}' then 'ease'
            when '{{ questions.does_well }}' then 'does_well'
        end as question,
        {{ phase_code('parts.area') }} as journey_phase,
        answer::integer as answer
    from grid
    where answer is not null
),

ticked as (
    select response_id, answered_at, respondent_group, team, string_split(coalesce(answer, ''), ', ') as labels
    from cells
    where column_name = '{{ questions.needs_improving }}'
),

needs_improving as (
    select
        response_id, answered_at, respondent_group, team,
        'needs_improving' as question,
        phase.code as journey_phase,
        case when list_contains(labels, phase.label) then 100.0 else 0.0 end as score
    from ticked
    cross join (values
        {%- for code, label in journey_phases() %}
        ('{{ code }}', '{{ label }}'){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as phase(code, label)
)

select
    response_id, answered_at, respondent_group, team, question, journey_phase,
    case question when 'ease' then (answer - 1) / 6 * 100 else (answer - 1) / 4 * 100 end as score
from scales
where question is not null and journey_phase is not null
union all
select * from needs_improving
