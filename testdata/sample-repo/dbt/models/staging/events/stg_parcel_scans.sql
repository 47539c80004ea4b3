{{ config(materialized='view') }}

select
    record_content:scan_id::varchar       as scan_id,
    record_content:parcel_id::varchar     as parcel_id,
    record_content:order_id::varchar      as order_id,
    record_content:status::varchar        as scan_status,
    record_content:scanned_at::timestamp_ntz as scanned_at,
    to_timestamp_ntz(record_metadata:CreateTime::number, 3) as ingested_at
from {{ source('events', 'parcel_scans') }}
