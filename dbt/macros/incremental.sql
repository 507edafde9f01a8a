{#-
  Incremental marts are refreshed a whole customer at a time: a customer's repeat flags, episodes and
  effective outcomes depend on all their contacts. A build refreshes the customers who have a row
  written by a run this warehouse has not seen yet (var refresh_runs, set by the warehouse builder from
  the run ids the last build held) or a row within incremental_lookback_days of the mart's latest event.
-#}
{% macro refreshed_customers(interactions_relation, time_column) %}
    select distinct customer_id
    from {{ interactions_relation }}
    where run_id in (
            select unnest([
                {%- for run in var('refresh_runs', []) -%}
                '{{ run | replace("'", "''") }}'{{ ", " if not loop.last }}
                {%- endfor -%}
            ]::varchar[])
        )
        or occurred_at >= (
            select coalesce(max({{ time_column }}), '-infinity'::timestamptz) from {{ this }}
        ) - to_days({{ var('incremental_lookback_days') }})
{% endmacro %}

{#- After an incremental build: customers that no longer exist in the lake (merged into another by
    identity stitching, or whose files were removed) leave the mart. Runs before the Parquet export. -#}
{% macro remove_vanished_customers() %}
  {%- if model.config.materialized == 'incremental' -%}
    delete from {{ this }}
    where customer_id not in (select distinct customer_id from {{ ref('stg_cx__interactions') }})
  {%- endif -%}
{% endmacro %}
