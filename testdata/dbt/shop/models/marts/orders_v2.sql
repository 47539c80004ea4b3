select id, customer_id, amount, status from {{ ref('stg_orders') }}
