import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("stray_else", start_date=pendulum.datetime(2025, 1, 1), schedule=None, catchup=False) as dag:
    start = EmptyOperator(task_id="start")
else:
    start = None
