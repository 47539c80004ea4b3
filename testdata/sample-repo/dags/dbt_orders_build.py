"""dbt builds for the orders domain, after the nightly orders load.

Staging and marts run as separate tasks so a failing test in staging stops
the marts from being rebuilt on bad data.
"""
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.sensors.external_task import ExternalTaskSensor
from airflow.utils.task_group import TaskGroup

from common.defaults import DEFAULT_ARGS

DBT_DIR = "/usr/local/airflow/dags/dbt"
DBT = f"cd {DBT_DIR} && dbt --no-use-colors"

with DAG(
    dag_id="dbt_orders_build",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=["dbt", "orders"],
    doc_md=__doc__,
) as dag:
    wait_for_load = ExternalTaskSensor(
        task_id="wait_for_orders_load",
        external_dag_id="orders_postgres_to_snowflake",
        external_task_id="merge_orders",
        execution_delta=pendulum.duration(minutes=90),
        mode="reschedule",
        timeout=2 * 60 * 60,
    )

    with TaskGroup(group_id="staging") as staging:
        deps = BashOperator(task_id="deps", bash_command=f"{DBT} deps")
        build_staging = BashOperator(
            task_id="build",
            bash_command=f"{DBT} build --select tag:orders,staging --target {{{{ var.value.env }}}}",
            pool="snowflake",
        )
        deps >> build_staging

    with TaskGroup(group_id="marts") as marts:
        build_orders = BashOperator(
            task_id="build_orders",
            bash_command=f"{DBT} build --select tag:orders,marts --target {{{{ var.value.env }}}}",
            pool="snowflake",
        )
        build_finance = BashOperator(
            task_id="build_finance",
            bash_command=f"{DBT} run --select marts.finance --target {{{{ var.value.env }}}}",
            pool="snowflake",
        )
        build_orders >> build_finance

    done = EmptyOperator(task_id="done")

    wait_for_load >> staging >> marts >> done
