import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("shared_id", schedule="@daily", start_date=pendulum.datetime(2025, 1, 1), catchup=False,
         default_args={"owner": "data-eng", "retries": 1}, tags=["dup"]):
    EmptyOperator(task_id="a")
