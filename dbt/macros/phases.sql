{#- The journey phase at a 1-based position in the order of data/taxonomy/phases.yml. -#}
{% macro phase_name(index_expression) %}
    ['looking_and_deciding', 'taking_the_leap', 'i_have_it_now_what', 'first_success', 'part_of_core', 'telling_others'][{{ index_expression }}]
{% endmacro %}
