"""Defaults every parcelflow DAG starts from.

Kept free of Airflow calls that touch the metadata database: this module is
imported by every DAG file on every scheduler parse.
"""
from datetime import timedelta

import pendulum

OWNER = "data-eng"
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "email_on_failure": False,
}

SNOWFLAKE_CONN_ID = "snowflake_default"
POSTGRES_CONN_ID = "postgres_orders"
AWS_CONN_ID = "aws_default"
LANDING_BUCKET = "parcelflow-landing-{{ var.value.env }}"

# Source tables exported nightly by table_exports_factory.py.
EXPORT_TABLES = {
    "customers": "0 2 * * *",
    "shipments": "15 2 * * *",
    "carriers": "30 2 * * 0",
}


def s3_key(table: str) -> str:
    """S3 key of one day's extract of a source table."""
    return f"postgres/{table}/{{{{ ds }}}}/{table}.parquet"
