from airflow import DAG
print "loading dags"
