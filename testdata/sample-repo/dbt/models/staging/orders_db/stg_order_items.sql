select
    id::varchar          as order_item_id,
    order_id::varchar    as order_id,
    sku,
    quantity::integer    as quantity,
    {{ cents_to_dollars('unit_price_cents') }} as unit_price
from {{ source('orders_db', 'order_items') }}
