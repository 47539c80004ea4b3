{{
    config(
        materialized='incremental',
        unique_key='revenue_date',
        incremental_strategy='merge',
        on_schema_change='append_new_columns'
    )
}}

select
    date_trunc('day', ordered_at)::date as revenue_date,
    count(*)                            as orders,
    sum(order_total)                    as revenue
from {{ ref('fct_orders') }}
where order_status not in ('cancelled', 'refunded')
{% if is_incremental() %}
  and ordered_at >= dateadd('day', -{{ var('order_lookback_days') }}, (select max(revenue_date) from {{ this }}))
{% endif %}
group by 1
