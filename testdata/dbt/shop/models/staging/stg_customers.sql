select id, email from {{ source('shop_db', 'customers') }}
