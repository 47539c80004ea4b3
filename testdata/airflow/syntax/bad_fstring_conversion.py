def path(ds):
    return f"s3://bucket/raw/{ds!x}/part-0.parquet"
