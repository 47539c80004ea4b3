variable "env" {
  description = "Environment name: dev, staging or prod."
  type        = string
}

variable "aws_account_id" {
  description = "The environment's AWS account; the provider refuses any other."
  type        = string
}

variable "tooling_account_id" {
  description = "The account Conveyor runs in; it assumes the deploy role from there."
  type        = string
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  description = "Private subnets (no route to an internet gateway) for MWAA and MSK."
  type        = list(string)
}

variable "orders_db_identifier" {
  description = "The RDS instance the orders pipelines read from (owned by the orders service)."
  type        = string
}

variable "mwaa_environment_class" {
  type    = string
  default = "mw1.small"
}

variable "mwaa_max_workers" {
  type    = number
  default = 5
}

variable "msk_broker_instance_type" {
  type    = string
  default = "kafka.t3.small"
}

variable "snowflake_organization" {
  type = string
}

variable "snowflake_account" {
  type = string
}

variable "snowflake_private_key" {
  description = "Key pair for the TERRAFORM_<ENV> user, passed in by the executor from Secrets Manager."
  type        = string
  sensitive   = true
}
