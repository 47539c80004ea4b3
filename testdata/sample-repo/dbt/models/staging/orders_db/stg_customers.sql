select
    id::varchar            as customer_id,
    lower(email)           as email,
    country_code,
    created_at::timestamp_ntz as signed_up_at
from {{ source('orders_db', 'customers') }}
