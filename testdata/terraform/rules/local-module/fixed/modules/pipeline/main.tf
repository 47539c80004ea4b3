variable "name" {
  type = string
}

variable "deploy_account" {
  type        = string
  description = "The account whose conveyor-deploy role runs the pipeline: the calling stack's own."
}

# Tags come from the caller's default_tags.
resource "aws_iam_role" "pipeline" {
  name = "${var.name}-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { AWS = "arn:aws:iam::${var.deploy_account}:role/conveyor-deploy" }
    }]
  })
}

terraform {
  required_providers {
    aws = {
      source                = "hashicorp/aws"
      configuration_aliases = [aws.replica]
    }
  }
}

# The dead letters are kept in the replica region.
module "dlq" {
  source    = "../queue"
  name      = "${var.name}-pipeline-dlq"
  providers = { aws = aws.replica }
}
