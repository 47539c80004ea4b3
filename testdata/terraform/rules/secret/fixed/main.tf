provider "snowflake" {
  organization_name = "PARCELFLOW"
  account_name      = "DATA_DEV"
  user              = "TERRAFORM_DEV"
  authenticator     = "SNOWFLAKE_JWT"
  private_key       = var.snowflake_private_key
}

variable "snowflake_private_key" {
  type      = string
  sensitive = true
}

variable "orders_db_identifier" {
  type = string
}

resource "aws_db_instance" "orders" {
  identifier                  = var.orders_db_identifier
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  storage_encrypted           = true
  username                    = "orders"
  manage_master_user_password = true
}

resource "aws_mwaa_environment" "this" {
  name               = "parcelflow-dev"
  source_bucket_arn  = "arn:aws:s3:::parcelflow-mwaa-dev"
  dag_s3_path        = "dags/"
  execution_role_arn = "arn:aws:iam::111111111111:role/parcelflow-dev-mwaa-execution"
  airflow_configuration_options = {
    "core.fernet_key"   = var.fernet_key
    "secrets.backend"   = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "snowflake.api_key" = ""
  }
  network_configuration {
    security_group_ids = ["sg-0123456789abcdef0"]
    subnet_ids         = ["subnet-0a1", "subnet-0b2"]
  }
}

variable "fernet_key" {
  type      = string
  sensitive = true
}
