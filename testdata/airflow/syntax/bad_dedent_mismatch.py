import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("dedent", start_date=pendulum.datetime(2025, 1, 1), schedule=None, catchup=False) as dag:
    for region in ["eu", "us"]:
        if region == "eu":
            EmptyOperator(task_id=f"load_{region}")
      else:
            EmptyOperator(task_id=f"skip_{region}")
