from airflow.operators.bash import BashOperator
t = BashOperator(task_id="a", "echo hi")
