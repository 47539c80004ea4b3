provider "snowflake" {
  organization_name = "PARCELFLOW"
  account_name      = "DATA_DEV"
  user              = "TERRAFORM_DEV"
  password          = "Sn0wfl4ke-Terraform-Dev!" # want: TF-SECRET-001
}

variable "orders_db_password" {
  type    = string
  default = "hunter2-orders-dev" # want: TF-SECRET-001
}

resource "aws_db_instance" "orders" {
  identifier        = "orders-dev"
  engine            = "postgres"
  instance_class    = "db.t4g.medium"
  allocated_storage = 50
  storage_encrypted = true
  username          = "orders"
  password          = "Orders-Master-Pw-2024" # want: TF-SECRET-001
}

resource "aws_mwaa_environment" "this" {
  name               = "parcelflow-dev"
  source_bucket_arn  = "arn:aws:s3:::parcelflow-mwaa-dev"
  dag_s3_path        = "dags/"
  execution_role_arn = "arn:aws:iam::111111111111:role/parcelflow-dev-mwaa-execution"
  airflow_configuration_options = {
    "core.fernet_key"   = var.fernet_key
    "secrets.backend"   = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "snowflake.api_key" = "sf-api-9f8e7d6c5b4a" # want: TF-SECRET-001
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

locals {
  legacy_loader_key_id = "AKIAIOSFODNN7EXAMPLE" # want: TF-SECRET-001
}
