-- The gap between what leadership and staff believe and what customers say: per question and journey
-- phase, each group's score on 0-100 and the gaps between them, ranked by the widest internal gap.
with internal as (
    select
        question,
        journey_phase,
        avg(score) filter (where respondent_group = 'leadership') as leadership_score,
        count(*) filter (where respondent_group = 'leadership')::bigint as leadership_respondents,
        avg(score) filter (where respondent_group = 'staff') as staff_score,
        count(*) filter (where respondent_group = 'staff')::bigint as staff_respondents
    from {{ ref('int_internal_answers_scored') }}
    group by all
),

customer_answers as (
    select
        journey_phase,
        ces,
        csat
    from {{ ref('stg_cx__interactions') }}
    where interaction_type = 'survey_response' and journey_phase is not null and (ces is not null or csat is not null)
),

customers as (
    select
        'ease' as question,
        journey_phase,
        avg((ces - 1) / 6 * 100) as customer_score,
        count(ces)::bigint as customer_responses
    from customer_answers
    where ces is not null
    group by all
    union all
    select
        'does_well' as question,
        journey_phase,
        avg((csat - 1) / 4 * 100) as customer_score,
        count(csat)::bigint as customer_responses
    from customer_answers
    where csat is not null
    group by all
    union all
    select
        'needs_improving' as question,
        journey_phase,
        100 * avg(case when ces <= {{ var('ces_hard_max') }} or csat <= {{ var('csat_low_max') }} then 1 else 0 end) as customer_score,
        count(*)::bigint as customer_responses
    from customer_answers
    group by all
),

joined as (
    select
        coalesce(i.question, c.question) as question,
        coalesce(i.journey_phase, c.journey_phase) as journey_phase,
        round(i.leadership_score, 1) as leadership_score,
        coalesce(i.leadership_respondents, 0) as leadership_respondents,
        round(i.staff_score, 1) as staff_score,
        coalesce(i.staff_respondents, 0) as staff_respondents,
        round(c.customer_score, 1) as customer_score,
        coalesce(c.customer_responses, 0) as customer_responses
    from internal as i
    full outer join customers as c on i.question = c.question and i.journey_phase = c.journey_phase
),

gaps as (
    select
        *,
        round(leadership_score - customer_score, 1) as leadership_gap,
        round(staff_score - customer_score, 1) as staff_gap,
        round(leadership_score - staff_score, 1) as leadership_staff_gap
    from joined
),

final as (
    select
        question,
        case question
            {%- for id, text in var('perception_questions').items() %}
                when '{{ id }}' then '{{ text | replace("'", "''") }}'
            {%- endfor %}
        end as question_text,
        journey_phase,
        leadership_score,
        leadership_respondents,
        staff_score,
        staff_respondents,
        customer_score,
        customer_responses,
        leadership_gap,
        staff_gap,
        leadership_staff_gap,
        greatest(abs(leadership_gap), abs(staff_gap)) as widest_gap,
        case
            when widest_gap is null then null
            when abs(leadership_gap) >= coalesce(abs(staff_gap), 0) then 'leadership'
            else 'staff'
        end as widest_gap_group,
        row_number() over (order by widest_gap desc nulls last, question asc, journey_phase asc)::bigint as gap_rank
    from gaps
)

select * from final
