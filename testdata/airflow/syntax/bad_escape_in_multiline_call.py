from airflow.operators.bash import BashOperator

export = BashOperator(
    task_id="export",
    bash_command=(
        "psql -c \"COPY parcels TO STDOUT\" "
        "| tr '\x1' ','"
    ),
)
