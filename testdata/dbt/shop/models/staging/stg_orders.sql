select id, customer_id, status, amount, created_at from {{ source('shop_db', 'orders') }}
