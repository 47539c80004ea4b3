env                = "staging"
aws_account_id     = "222222222222"
tooling_account_id = "444444444444"
region             = "eu-west-1"

vpc_id             = "vpc-05a6b7c8d9e0f1a2b"
private_subnet_ids = ["subnet-03b11a1b2c3d4e5f6a7", "subnet-03b22a1b2c3d4e5f6a7", "subnet-03b33a1b2c3d4e5f6a7"]

orders_db_identifier = "orders-staging"

mwaa_environment_class   = "mw1.small"
mwaa_max_workers         = 5
msk_broker_instance_type = "kafka.t3.small"

snowflake_organization = "PARCELFLOW"
snowflake_account      = "DATA_STAGING"
