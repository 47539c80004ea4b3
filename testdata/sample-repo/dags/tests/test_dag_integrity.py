"""DAG integrity: every DAG file imports, and every DAG follows the repo's rules.

Run with `pytest dags/tests` where Airflow is installed (the local MWAA
runner or CI). Conveyor runs the same checks statically on every PR.
"""
import os

import pytest
from airflow.models import DagBag

DAGS_DIR = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture(scope="session")
def dagbag() -> DagBag:
    return DagBag(dag_folder=DAGS_DIR, include_examples=False)


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_expected_dags_present(dagbag: DagBag) -> None:
    expected = {
        "orders_postgres_to_snowflake",
        "kafka_s3_compaction",
        "dbt_orders_build",
        "customer_metrics",
        "export_customers",
        "export_shipments",
        "export_carriers",
    }
    assert expected <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(DagBag(dag_folder=DAGS_DIR, include_examples=False).dag_ids))
def test_dag_policy(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    assert dag.catchup is False, f"{dag_id}: set catchup=False or justify a backfill"
    assert dag.tags, f"{dag_id}: tags are required"
    assert dag.default_args.get("owner") not in (None, "airflow"), f"{dag_id}: owner is required"
    assert dag.default_args.get("retries") is not None, f"{dag_id}: retries are required"
