-- The team's closed-loop actions, one row per action (kept as a table: the builder's copy of the
-- actions file is gone once dbt is done). The builder checked every value (pipelines/actions.py).
{{ config(materialized='table') }}
select
    action_id,
    root_cause,
    journey_phase,
    touchpoint,
    action,
    owner,
    opened_on::date as opened_on,
    due_on::date as due_on,
    status,
    done_on::date as done_on
from {{ source('closed_loop', 'actions') }}
