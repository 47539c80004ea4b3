"""Airflow 2 DAG: context manager, list fan-out, chain() and cross_downstream()."""
import pendulum
from airflow.models.baseoperator import chain, cross_downstream
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

SCHEMAS = ["sales", "finance"]

with DAG(
    dag_id="warehouse_maintenance",
    schedule="@weekly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "analytics", "retries": 3, "pool": "snowflake"},
    tags=["maintenance"],
) as dag:
    begin = EmptyOperator(task_id="begin")
    vacuum = [
        SQLExecuteQueryOperator(task_id=f"vacuum_{s}", conn_id="snowflake_default", sql=f"ALTER TABLE {s}.facts RECLUSTER")
        for s in SCHEMAS
    ]
    analyze = [
        SQLExecuteQueryOperator(task_id=f"analyze_{s}", conn_id="snowflake_default", sql=f"ANALYZE {s}")
        for s in SCHEMAS
    ]
    notify = EmptyOperator(task_id="notify", queue="default")
    end = EmptyOperator(task_id="end")

    begin >> vacuum
    cross_downstream(vacuum, analyze)
    chain(analyze, notify, end)

DAG("ad_hoc_exports", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False, tags=["exports"])
