"""A DAG with the problems a reviewer should catch."""
from datetime import datetime, timedelta

import boto3
from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.models import Variable
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.providers.postgres.hooks.postgres import PostgresHook

THRESHOLD = Variable.get("payments_threshold")
PG = PostgresHook(postgres_conn_id="payments")
s3 = boto3.client("s3")
CONN = BaseHook.get_connection("payments_api")
API_TOKEN = "tok_live_9f8e7d6c5b4a39281"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"

for i in range(5000):
    pass


def load(**context):
    Variable.get("inside_task_is_fine")


with DAG(
    dag_id="payments_reconcile",
    schedule="@hourly",
    start_date=datetime(2023, 1, 1),
    default_args={"owner": "payments-team"},
    tags=[],
) as dag:
    a = BashOperator(task_id="extract", bash_command="extract.sh", pool="spark_pool")
    b = PythonOperator(task_id="load", python_callable=load, queue="gpu")
    c = BashOperator(task_id="extract", bash_command="again.sh")
    d = BashOperator(task_id="stamp", bash_command=f"echo {datetime.now()}")
    a >> b >> d >> a

with DAG(
    dag_id="payments_drift",
    schedule="@daily",
    start_date=datetime.now() - timedelta(days=1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-eng", "retries": 1},
    tags=["payments"],
) as drift:
    BashOperator(task_id="noop", bash_command="true")
