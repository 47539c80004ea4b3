from airflow import DAG
dag = DAG("unterminated)
