"""Daily customer metrics, written with the TaskFlow API.

Each region is computed as a mapped task so one slow region does not hold
the others back.
"""
import pendulum
from airflow.decorators import dag, task

from common.defaults import DEFAULT_ARGS, SNOWFLAKE_CONN_ID

REGIONS = ["eu-west", "eu-central", "uk"]


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customers", "metrics"],
)
def customer_metrics():
    @task
    def list_regions() -> list[str]:
        return REGIONS

    @task(pool="snowflake")
    def compute_region(region: str, data_interval_start=None) -> dict:
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        hook = SnowflakeHook(snowflake_conn_id=SNOWFLAKE_CONN_ID)
        rows = hook.get_records(
            "SELECT COUNT(DISTINCT customer_id) FROM MARTS.ORDERS WHERE region = %(r)s AND order_date = %(d)s",
            parameters={"r": region, "d": data_interval_start.date()},
        )
        return {"region": region, "active_customers": rows[0][0]}

    @task(pool="snowflake")
    def publish(metrics: list[dict]) -> None:
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        hook = SnowflakeHook(snowflake_conn_id=SNOWFLAKE_CONN_ID)
        hook.insert_rows(
            "MARTS.CUSTOMER_METRICS_DAILY",
            [(m["region"], m["active_customers"]) for m in metrics],
        )

    publish(compute_region.expand(region=list_regions()))


customer_metrics()
