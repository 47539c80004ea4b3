variable "env" {
  type = string
}

provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { owner = "devops" }
  }
}

locals {
  tags = { env = var.env, "cost-center" = "data-platform" }
}

resource "aws_mwaa_environment" "this" {
  name               = "parcelflow-dev"
  source_bucket_arn  = "arn:aws:s3:::parcelflow-mwaa-dev"
  dag_s3_path        = "dags/"
  execution_role_arn = "arn:aws:iam::111111111111:role/parcelflow-dev-mwaa-execution"
  tags               = local.tags
  network_configuration {
    security_group_ids = ["sg-0123456789abcdef0"]
    subnet_ids         = ["subnet-0a1", "subnet-0b2"]
  }
}

resource "aws_cloudwatch_log_group" "msk" {
  name = "/msk/parcelflow-dev-events"
  tags = merge(local.tags, { Name = "msk-broker-logs" })
}

# Snowflake objects are not AWS-tagged.
resource "snowflake_database" "platform" {
  name = "PARCELFLOW_DEV"
}
