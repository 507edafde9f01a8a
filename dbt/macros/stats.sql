{#- Two-sided p-value of a standard normal z, 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt 2), by Abramowitz and
    Stegun 7.1.26 (error under 1.5e-7): DuckDB has no normal distribution function. -#}
{% macro two_sided_p_value(z) %}
    {%- set t = '(1 / (1 + 0.3275911 * abs(' ~ z ~ ') / sqrt(2)))' -%}
    (((((1.061405429 * {{ t }} - 1.453152027) * {{ t }} + 1.421413741) * {{ t }} - 0.284496736) * {{ t }} + 0.254829592)
     * {{ t }} * exp(-(({{ z }}) * ({{ z }})) / 2))
{% endmacro %}

{#- z of a two-proportion test (pooled): after_events/after_n against before_events/before_n. -#}
{% macro two_proportion_z(before_events, before_n, after_events, after_n) %}
    (({{ after_events }} / nullif({{ after_n }}, 0) - {{ before_events }} / nullif({{ before_n }}, 0))
     / nullif(sqrt(
         (({{ before_events }} + {{ after_events }}) / nullif({{ before_n }} + {{ after_n }}, 0))
         * (1 - ({{ before_events }} + {{ after_events }}) / nullif({{ before_n }} + {{ after_n }}, 0))
         * (1 / nullif({{ before_n }}, 0) + 1 / nullif({{ after_n }}, 0))), 0))
{% endmacro %}


{#- Wilson score interval (95%) of a proportion events/n, as [low, high] in percent; null without answers. -#}
{% macro wilson_low(events, n) %}
    case when {{ n }} > 0 then 100 * (({{ events }} / {{ n }} + 1.96 * 1.96 / (2 * {{ n }}))
        - 1.96 * sqrt(({{ events }} / {{ n }}) * (1 - {{ events }} / {{ n }}) / {{ n }} + 1.96 * 1.96 / (4 * {{ n }} * {{ n }})))
        / (1 + 1.96 * 1.96 / {{ n }}) end
{% endmacro %}

{% macro wilson_high(events, n) %}
    case when {{ n }} > 0 then 100 * (({{ events }} / {{ n }} + 1.96 * 1.96 / (2 * {{ n }}))
        + 1.96 * sqrt(({{ events }} / {{ n }}) * (1 - {{ events }} / {{ n }}) / {{ n }} + 1.96 * 1.96 / (4 * {{ n }} * {{ n }})))
        / (1 + 1.96 * 1.96 / {{ n }}) end
{% endmacro %}


{#- Standard error of a difference in differences of four independent proportions (each rate p of n). -#}
{% macro did_standard_error(treated_before, treated_before_n, treated_after, treated_after_n,
                            control_before, control_before_n, control_after, control_after_n) %}
    sqrt({{ treated_before }} * (1 - {{ treated_before }}) / nullif({{ treated_before_n }}, 0)
         + {{ treated_after }} * (1 - {{ treated_after }}) / nullif({{ treated_after_n }}, 0)
         + {{ control_before }} * (1 - {{ control_before }}) / nullif({{ control_before_n }}, 0)
         + {{ control_after }} * (1 - {{ control_after }}) / nullif({{ control_after_n }}, 0))
{% endmacro %}


{#- A Poisson(1) draw from a uniform u in [0, 1), by its inverse CDF (P(k) = e^-1 / k!, cumulated): the
    weight of one customer in one resample of a Poisson bootstrap. -#}
{% macro poisson_one_draw(u) %}
    case
        when {{ u }} < 0.367879 then 0
        when {{ u }} < 0.735759 then 1
        when {{ u }} < 0.919699 then 2
        when {{ u }} < 0.981012 then 3
        when {{ u }} < 0.996340 then 4
        when {{ u }} < 0.999406 then 5
        when {{ u }} < 0.999917 then 6
        else 7
    end
{% endmacro %}
