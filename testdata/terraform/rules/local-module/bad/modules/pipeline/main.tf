variable "name" {
  type = string
}

# Tags come from the caller's default_tags; the trust names prod's deploy
# role, which a dev stack must never trust.
resource "aws_iam_role" "pipeline" {
  name = "${var.name}-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { AWS = "arn:aws:iam::333333333333:role/conveyor-deploy" } # want: TF-ACCOUNT-001
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
