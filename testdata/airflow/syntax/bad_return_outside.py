from airflow import DAG
dag = DAG("early_return")
return dag
