{#- Models go to the schema their folder names (staging, intermediate, marts) as it is, not prefixed by
    the target's schema: BI tools and analysts read `marts.<mart>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
