from airflow.decorators import task


class Loaders:
    @staticmethod
    @task
        def extract(ds=None):
            return ds
