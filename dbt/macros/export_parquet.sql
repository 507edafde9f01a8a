{#- Write a mart to <CX_EXPORTS_DIR>/<name>.parquet for BI tools; other layers are left alone. -#}
{% macro export_parquet() %}
  {%- if model.fqn[1] == 'marts' and model.config.materialized in ('table', 'incremental') -%}
    {%- set folder = env_var('CX_EXPORTS_DIR', 'data/warehouse/exports') -%}
    copy (select * from {{ this }}) to '{{ folder }}/{{ this.identifier }}.parquet' (format parquet, compression zstd)
  {%- endif -%}
{% endmacro %}
