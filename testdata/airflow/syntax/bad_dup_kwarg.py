from airflow import DAG
dag = DAG(dag_id="a", schedule="@daily", schedule="@hourly")
