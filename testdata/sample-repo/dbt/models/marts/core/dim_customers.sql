select
    c.customer_id,
    c.email,
    c.country_code,
    c.signed_up_at,
    min(o.ordered_at) as first_ordered_at,
    count(o.order_id) as lifetime_orders
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders', v=2) }} as o using (customer_id)
group by 1, 2, 3, 4
