terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 1.0"
    }
  }

  # One state per environment: `terraform init -backend-config=key=platform/<env>.tfstate`.
  backend "s3" {
    bucket       = "parcelflow-terraform-state"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
