{{ config(materialized='table', alias='fct_orders') }}

select
    o.order_id,
    o.customer_id,
    o.order_status,
    o.ordered_at,
    o.order_total,
    coalesce(i.item_count, 0) as item_count,
    s.scan_status              as last_scan_status
from {{ ref('stg_orders') }} as o
left join {{ ref('int_order_items_summed') }} as i using (order_id)
left join {{ ref('int_parcel_latest_scan') }} as s using (order_id)
