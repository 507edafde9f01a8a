{#- True when a customer id names no one we can count as a customer: its identifier type (the text
    before ':'; account numbers have none) is one of var('pseudo_customer_types'). -#}
{% macro is_pseudo_customer(customer_id) %}
    (position(':' in {{ customer_id }}) > 0
     and split_part({{ customer_id }}, ':', 1) in ({% for kind in var('pseudo_customer_types') %}'{{ kind }}'{% if not loop.last %}, {% endif %}{% endfor %}))
{% endmacro %}

{#- The identifier type of a customer id: 'account' for an account number, else the text before ':'. -#}
{% macro customer_id_type(customer_id) %}
    case when position(':' in {{ customer_id }}) > 0 then split_part({{ customer_id }}, ':', 1) else 'account' end
{% endmacro %}

{#- An interaction that ends a customer's subscription: the churn every mart counts. -#}
{% macro is_churn_event(interaction_type) %}
    ({{ interaction_type }} = 'subscription_cancelled')
{% endmacro %}

{#- A contact episode that cost the customer a lot: high_effort_contacts contacts or more, or left unresolved. -#}
{% macro is_high_effort_episode(contacts, is_resolved) %}
    ({{ contacts }} >= {{ var('high_effort_contacts') }} or not {{ is_resolved }})
{% endmacro %}
