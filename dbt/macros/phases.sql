{#- The six journey phases as (code, label), in the order of data/taxonomy/phases.yml. -#}
{% macro journey_phases() %}
    {{ return([
        ('looking_and_deciding', 'Looking & Deciding'),
        ('taking_the_leap', 'Taking The Leap'),
        ('i_have_it_now_what', 'I Have It Now What?'),
        ('first_success', 'Your First Success'),
        ('part_of_core', 'Making It Part Of Your Core'),
        ('telling_others', 'Telling Others'),
    ]) }}
{% endmacro %}

{#- The journey phase at a 1-based position in the order of data/taxonomy/phases.yml. -#}
{% macro phase_name(index_expression) %}
    [{% for code, _ in journey_phases() %}'{{ code }}'{% if not loop.last %}, {% endif %}{% endfor %}][{{ index_expression }}]
{% endmacro %}

{#- The journey phase code for a phase label ("I Have It Now What?" -> i_have_it_now_what); null if none. -#}
{% macro phase_code(label_expression) %}
    case {{ label_expression }}
    {%- for code, label in journey_phases() %} when '{{ label }}' then '{{ code }}'{% endfor %} end
{% endmacro %}

{#- The 1-based position of a journey phase code in the order of data/taxonomy/phases.yml; null if none. -#}
{% macro phase_index(code_expression) %}
    case {{ code_expression }}
    {%- for code, _ in journey_phases() %} when '{{ code }}' then {{ loop.index }}{% endfor %} end
{% endmacro %}

{#- The position of the last journey phase (telling_others): how many phases there are. -#}
{% macro last_phase_index() %}{{ journey_phases() | length }}{% endmacro %}
