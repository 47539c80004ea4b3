env                = "prod"
aws_account_id     = "333333333333"
tooling_account_id = "444444444444"
region             = "eu-west-1"

vpc_id             = "vpc-0f9e8d7c6b5a4f3e2"
private_subnet_ids = ["subnet-04c11a1b2c3d4e5f6a7", "subnet-04c22a1b2c3d4e5f6a7", "subnet-04c33a1b2c3d4e5f6a7"]

orders_db_identifier = "orders-prod"

mwaa_environment_class   = "mw1.medium"
mwaa_max_workers         = 20
msk_broker_instance_type = "kafka.m5.large"

snowflake_organization = "PARCELFLOW"
snowflake_account      = "DATA_PROD"
