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
  tags = { env = var.env }
}

resource "aws_mwaa_environment" "this" {
  name               = "parcelflow-dev"
  source_bucket_arn  = "arn:aws:s3:::parcelflow-mwaa-dev"
  dag_s3_path        = "dags/"
  execution_role_arn = "arn:aws:iam::111111111111:role/parcelflow-dev-mwaa-execution"
  tags               = local.tags # want: TF-TAGS-001
  network_configuration {
    security_group_ids = ["sg-0123456789abcdef0"]
    subnet_ids         = ["subnet-0a1", "subnet-0b2"]
  }
}

resource "aws_cloudwatch_log_group" "msk" { # want: TF-TAGS-001
  name = "/msk/parcelflow-dev-events"
}
