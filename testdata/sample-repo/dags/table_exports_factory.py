"""One export DAG per source table, generated from common.defaults.EXPORT_TABLES.

Each table gets its own DAG (and its own schedule) so a slow table never
delays the others and each can be backfilled on its own.
"""
from airflow import DAG
from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator
from airflow.providers.snowflake.transfers.copy_into_snowflake import (
    CopyFromExternalStageToSnowflakeOperator,
)

from common.defaults import (
    DEFAULT_ARGS,
    EXPORT_TABLES,
    LANDING_BUCKET,
    POSTGRES_CONN_ID,
    SNOWFLAKE_CONN_ID,
    START_DATE,
    s3_key,
)


def build_export_dag(table: str, schedule: str) -> DAG:
    with DAG(
        dag_id=f"export_{table}",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["exports", table],
    ) as export_dag:
        extract = SqlToS3Operator(
            task_id=f"extract_{table}",
            sql_conn_id=POSTGRES_CONN_ID,
            query=f"SELECT * FROM public.{table}",
            s3_bucket=LANDING_BUCKET,
            s3_key=s3_key(table),
            file_format="parquet",
            replace=True,
            pool="postgres_source",
        )
        load = CopyFromExternalStageToSnowflakeOperator(
            task_id=f"load_{table}",
            snowflake_conn_id=SNOWFLAKE_CONN_ID,
            table=f"STAGING.{table.upper()}",
            stage="STAGING.LANDING_STAGE",
            prefix=s3_key(table),
            file_format="(TYPE = PARQUET)",
            pool="snowflake",
        )
        extract >> load
    return export_dag


for table_name, cron in EXPORT_TABLES.items():
    globals()[f"export_{table_name}"] = build_export_dag(table_name, cron)
