try:
    import airflow
except ImportError, e:
    pass
