{{
    config(
        materialized='incremental',
        unique_key='parcel_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns'
    )
}}

with scans as (
    select * from {{ ref('stg_parcel_scans') }}
    {% if is_incremental() %}
    where ingested_at > (select max(ingested_at) from {{ this }})
    {% endif %}
)

select parcel_id, order_id, scan_status, scanned_at, ingested_at
from scans
qualify row_number() over (partition by parcel_id order by scanned_at desc) = 1
