{{ config(materialized='table') }}

select
    o.order_id,
    o.customer_id,
    o.order_status,
    o.ordered_at,
    o.order_total,
    coalesce(i.item_count, 0) as item_count
from {{ ref('stg_orders') }} as o
left join {{ ref('int_order_items_summed') }} as i using (order_id)
