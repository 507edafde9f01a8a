with source as (
    select * from {{ source('cx', 'interactions') }}
),

renamed as (
    select
        interaction_id,
        schema_version,
        touchpoint,
        channel_type,
        interaction_type,
        occurred_at::timestamptz as occurred_at,
        customer_id,
        source_customer_ref,
        case_id,
        text,
        source_code,
        source_reason,
        reason_code,
        reason_dimension,
        reason_confidence,
        reason_method,
        reason_evidence,
        outcome,
        outcome_method,
        journey_phase,
        phase_signal,
        agent_id,
        team,
        wait_seconds,
        handle_seconds,
        coalesce(transfers, 0) as transfers,
        ces,
        csat,
        nps,
        amount::decimal(18, 2) as amount,
        currency,
        attributes,
        source_file,
        source_line,
        run_id,
        interaction_type in ('call', 'ticket', 'chat_conversation') and reason_code is not null as is_contact,
        {{ customer_id_type('customer_id') }} as customer_id_type,
        {{ is_pseudo_customer('customer_id') }} as is_pseudo_customer
    from source
    -- staff and leadership answering the perception survey are not customers (stg_cx__internal_answers)
    where interaction_type <> 'internal_survey_response'
)

select * from renamed
