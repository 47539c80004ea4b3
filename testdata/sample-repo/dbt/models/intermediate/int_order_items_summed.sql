select
    order_id,
    count(*)                      as item_count,
    sum(quantity * unit_price)    as items_total
from {{ ref('stg_order_items') }}
group by order_id
