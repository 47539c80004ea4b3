"""Shared DAG factory: every marketing source gets the same three steps."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

DEFAULT_ARGS = {"owner": "analytics", "retries": 2, "retry_delay": timedelta(minutes=10)}
START = datetime(2025, 1, 1)


def make_marketing_dag(source: str, schedule: str = "@daily") -> DAG:
    dag = DAG(
        dag_id=f"marketing_{source}",
        schedule=schedule,
        start_date=START,
        catchup=False,
        default_args=DEFAULT_ARGS,
        tags=["marketing"],
    )
    fetch = BashOperator(task_id="fetch", bash_command=f"fetch {source}", dag=dag)
    load = BashOperator(task_id="load", bash_command=f"load {source}", dag=dag, pool="snowflake")
    fetch >> load
    return dag
