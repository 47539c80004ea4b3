from airflow import DAG

with DAG("broken", schedule="@daily" as dag:
    pass
