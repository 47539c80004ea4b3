{{ config(materialized='incremental', unique_key='day') }}
select created_at::date as day, sum(amount) as amount from {{ ref('stg_orders') }} join {{ ref('orders') }} using (id) group by 1
