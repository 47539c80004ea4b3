from airflow.decorators import task


@task
def collect(sources):
    return [row async for row in sources]
