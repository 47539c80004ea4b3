{#- Test customers are created by QA with a known e-mail domain; they are listed in a seed. -#}
{% macro is_test_customer(customer_id_column) -%}
    {{ customer_id_column }} in (select customer_id from {{ ref('test_customers') }})
{%- endmacro %}
