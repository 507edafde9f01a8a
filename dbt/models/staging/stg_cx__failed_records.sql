with source as (
    select * from {{ source('cx', 'failed') }}
),

renamed as (
    select
        touchpoint,
        source_file,
        source_line,
        error_type,
        error_message,
        raw_payload
    from source
)

select * from renamed
