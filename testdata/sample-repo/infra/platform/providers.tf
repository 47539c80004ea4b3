# Each environment is its own AWS account. The provider refuses to touch any
# other account, and assumes the terraform role of the environment's account.
provider "aws" {
  region              = var.region
  allowed_account_ids = [var.aws_account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.aws_account_id}:role/terraform"
    session_name = "platform-${var.env}"
  }

  default_tags {
    tags = local.tags
  }
}

provider "snowflake" {
  organization_name = var.snowflake_organization
  account_name      = var.snowflake_account
  user              = "TERRAFORM_${upper(var.env)}"
  role              = "SYSADMIN"
  authenticator     = "SNOWFLAKE_JWT"
  private_key       = var.snowflake_private_key
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
