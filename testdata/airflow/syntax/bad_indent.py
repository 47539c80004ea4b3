from airflow import DAG

def build():
    dag = DAG("x")
      return dag
