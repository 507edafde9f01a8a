-- The internal perception survey as the form delivered it: one row per response and form column, with
-- the answer trimmed (blank = null). Scoring is int_internal_answers_scored's job.
with source as (
    select * from {{ source('cx', 'interactions') }}
    where interaction_type = 'internal_survey_response'
),

responses as (
    select
        interaction_id as response_id,
        occurred_at::timestamptz as answered_at,
        source_code as respondent_group,
        team,
        map_entries(json_transform(attributes, '"MAP(VARCHAR, VARCHAR)"')) as cells
    from source
),

unnested as (
    select
        response_id,
        answered_at,
        respondent_group,
        team,
        unnest(cells) as cell
    from responses
),

final as (
    select
        response_id,
        answered_at,
        respondent_group,
        team,
        struct_extract(cell, 'key') as column_name,
        nullif(trim(struct_extract(cell, 'value')), '') as answer
    from unnested
)

select * from final
