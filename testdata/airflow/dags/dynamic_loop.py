"""DAGs generated in loops: one per known source, and one per entry of a
config file read at parse time (unknown statically)."""
import json
import pathlib

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

SOURCES = {"stripe": "@hourly", "zendesk": "@daily"}

for name, sched in SOURCES.items():
    with DAG(
        dag_id=f"ingest_{name}",
        schedule=sched,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"owner": "data-eng", "retries": 1},
        tags=["ingest", name],
    ) as dag:
        pull = BashOperator(task_id="pull", bash_command=f"ingest {name}")
        check = BashOperator(task_id="check", bash_command=f"check {name}")
        pull >> check
    globals()[dag.dag_id] = dag

CONFIG = json.loads((pathlib.Path(__file__).parent / "feeds.json").read_text())
for feed in CONFIG["feeds"]:
    with DAG(
        dag_id=f"feed_{feed['name']}",
        schedule=feed["schedule"],
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"owner": "data-eng", "retries": 1},
        tags=["feeds"],
    ):
        BashOperator(task_id="load", bash_command="load")
