from airflow.models import Variable

bucket = Variable.get("bucket") region = "eu"
