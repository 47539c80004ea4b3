"""Nightly orders load: Postgres (orders service) -> S3 landing -> Snowflake.

The extract is partitioned by the data interval so reruns and backfills are
idempotent; the merge into MARTS.ORDERS dedupes on order_id.
"""
from airflow import DAG
from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.snowflake.transfers.copy_into_snowflake import (
    CopyFromExternalStageToSnowflakeOperator,
)

from common.defaults import (
    AWS_CONN_ID,
    DEFAULT_ARGS,
    LANDING_BUCKET,
    POSTGRES_CONN_ID,
    SNOWFLAKE_CONN_ID,
    START_DATE,
    s3_key,
)

EXTRACT_SQL = """
SELECT order_id, customer_id, status, amount_cents, currency, created_at, updated_at
FROM public.orders
WHERE updated_at >= '{{ data_interval_start }}'
  AND updated_at <  '{{ data_interval_end }}'
"""

MERGE_SQL = """
MERGE INTO MARTS.ORDERS t
USING (SELECT * FROM STAGING.ORDERS_RAW QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1) s
  ON t.order_id = s.order_id
WHEN MATCHED AND s.updated_at > t.updated_at THEN UPDATE SET
  status = s.status, amount_cents = s.amount_cents, updated_at = s.updated_at
WHEN NOT MATCHED THEN INSERT (order_id, customer_id, status, amount_cents, currency, created_at, updated_at)
  VALUES (s.order_id, s.customer_id, s.status, s.amount_cents, s.currency, s.created_at, s.updated_at)
"""

with DAG(
    dag_id="orders_postgres_to_snowflake",
    description="Load changed orders from Postgres into MARTS.ORDERS",
    schedule="30 1 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["orders", "snowflake", "tier-1"],
) as dag:
    extract = SqlToS3Operator(
        task_id="extract_orders",
        sql_conn_id=POSTGRES_CONN_ID,
        query=EXTRACT_SQL,
        s3_bucket=LANDING_BUCKET,
        s3_key=s3_key("orders"),
        file_format="parquet",
        replace=True,
        aws_conn_id=AWS_CONN_ID,
        pool="postgres_source",
    )

    truncate_stage = SQLExecuteQueryOperator(
        task_id="truncate_stage",
        conn_id=SNOWFLAKE_CONN_ID,
        sql="TRUNCATE TABLE IF EXISTS STAGING.ORDERS_RAW",
        pool="snowflake",
    )

    copy_into_stage = CopyFromExternalStageToSnowflakeOperator(
        task_id="copy_into_stage",
        snowflake_conn_id=SNOWFLAKE_CONN_ID,
        table="STAGING.ORDERS_RAW",
        stage="STAGING.LANDING_STAGE",
        prefix=s3_key("orders"),
        file_format="(TYPE = PARQUET)",
        pool="snowflake",
    )

    merge_orders = SQLExecuteQueryOperator(
        task_id="merge_orders",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=MERGE_SQL,
        pool="snowflake",
    )

    [extract, truncate_stage] >> copy_into_stage >> merge_orders
