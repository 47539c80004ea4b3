# Airflow 1.10-era DAG, still running on an Airflow 2 cluster.
from datetime import timedelta

from airflow import DAG
from airflow.contrib.operators.ssh_operator import SSHOperator
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.utils.dates import days_ago

default_args = {
    "owner": "data-eng",
    "depends_on_past": False,
    "start_date": days_ago(2),
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

dag = DAG(
    "legacy_inventory_sync",
    default_args=default_args,
    schedule_interval="0 */6 * * *",
    concurrency=4,
)


def push_counts(**kwargs):
    return 42


start = DummyOperator(task_id="start", dag=dag)
pull = SSHOperator(task_id="pull_inventory", ssh_conn_id="warehouse_ssh", command="./pull.sh {{ ds }}", dag=dag)
count = PythonOperator(task_id="count_rows", python_callable=push_counts, provide_context=True, dag=dag)
report = BashOperator(task_id="report", bash_command="echo {{ execution_date }}", dag=dag)

pull.set_upstream(start)
count.set_upstream(pull)
report << count
