from airflow.models import Variable

bucket = name := Variable.get("bucket")
