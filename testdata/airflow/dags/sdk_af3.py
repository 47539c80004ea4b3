"""Airflow 3 DAG written against the task SDK, scheduled on an asset."""
import pendulum
from airflow.sdk import DAG, Asset, chain, task
from airflow.providers.standard.operators.bash import BashOperator

orders_asset = Asset("s3://parcelflow-landing/orders/")

with DAG(
    "orders_asset_consumer",
    schedule=[orders_asset],
    start_date=pendulum.datetime(2025, 6, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "data-eng", "retries": 2},
    tags=["orders", "assets"],
):
    @task
    def validate() -> bool:
        return True

    load = BashOperator(task_id="load", bash_command="dbt build --select tag:orders")
    chain(validate(), load)
