module "vpc" {
  source = "terraform-aws-modules/vpc/aws" # want: TF-MODULE-001
  name   = "parcelflow-dev"
}

module "mwaa" {
  source  = "aws-ia/mwaa/aws"
  version = "~> 0.0.6" # want: TF-MODULE-001
  name    = "parcelflow-dev"
}

module "snowflake_roles" {
  source = "git::https://github.com/parcelflow/terraform-snowflake-roles.git" # want: TF-MODULE-001
}

module "msk_topics" {
  source = "github.com/parcelflow/terraform-msk-topics?ref=main" # want: TF-MODULE-001
}
