module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  name    = "parcelflow-dev"
}

module "mwaa" {
  source  = "aws-ia/mwaa/aws"
  version = "0.0.6"
  name    = "parcelflow-dev"
}

module "snowflake_roles" {
  source = "git::https://github.com/parcelflow/terraform-snowflake-roles.git?ref=v1.4.2"
}

module "msk_topics" {
  source = "github.com/parcelflow/terraform-msk-topics?ref=3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e"
}

module "raw_bucket" {
  source = "./modules/bucket"
  name   = "parcelflow-raw-dev"
}
