with source as (
    select * from {{ source('orders_db', 'orders') }}
),

renamed as (
    select
        id::varchar                         as order_id,
        customer_id::varchar                as customer_id,
        lower(status)                       as order_status,
        created_at::timestamp_ntz           as ordered_at,
        updated_at::timestamp_ntz           as updated_at,
        currency                            as currency_code,
        {{ cents_to_dollars('total_cents') }} as order_total
    from source
    where not {{ is_test_customer('customer_id') }}
)

select * from renamed
