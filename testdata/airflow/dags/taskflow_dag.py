"""TaskFlow DAG: dag_id from the function name, XCom data dependencies,
override(), repeated calls and a @task_group."""
from datetime import datetime

from airflow.decorators import dag, task, task_group


@dag(
    schedule="0 4 * * *",
    start_date=datetime(2025, 2, 1),
    catchup=False,
    default_args={"owner": "finance-analytics", "retries": 2},
    tags=["finance"],
)
def finance_rollup(region: str = "eu"):
    @task
    def extract(table: str) -> str:
        return table

    @task
    def merge(a: str, b: str) -> str:
        return a + b

    @task_group
    def publish(data: str):
        @task
        def to_snowflake(x: str) -> None:
            pass

        @task
        def to_s3(x: str) -> None:
            pass

        to_snowflake(data)
        to_s3(data)

    ledger = extract("ledger")
    invoices = extract.override(task_id="extract_invoices")("invoices")
    refunds = extract("refunds")
    publish(merge(merge(ledger, invoices), refunds))


finance_rollup()
