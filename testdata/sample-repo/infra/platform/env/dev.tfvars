env                = "dev"
aws_account_id     = "111111111111"
tooling_account_id = "444444444444"
region             = "eu-west-1"

vpc_id             = "vpc-0d1e2f3a4b5c6d7e8"
private_subnet_ids = ["subnet-02a11a1b2c3d4e5f6a7", "subnet-02a22a1b2c3d4e5f6a7", "subnet-02a33a1b2c3d4e5f6a7"]

orders_db_identifier = "orders-dev"

mwaa_environment_class   = "mw1.small"
mwaa_max_workers         = 5
msk_broker_instance_type = "kafka.t3.small"

snowflake_organization = "PARCELFLOW"
snowflake_account      = "DATA_DEV"
