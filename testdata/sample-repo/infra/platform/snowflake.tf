# The environment's warehouse objects that dbt builds into.

resource "snowflake_database" "platform" {
  name                        = "PARCELFLOW_${upper(var.env)}"
  comment                     = "Managed by Terraform (infra/platform); dbt builds into it."
  data_retention_time_in_days = var.env == "prod" ? 14 : 1
}

resource "snowflake_schema" "staging" {
  database = snowflake_database.platform.name
  name     = "STAGING"
}

resource "snowflake_schema" "marts" {
  database = snowflake_database.platform.name
  name     = "MARTS"
}

resource "snowflake_warehouse" "transform" {
  name           = "TRANSFORM_${upper(var.env)}"
  warehouse_size = var.env == "prod" ? "MEDIUM" : "XSMALL"
  auto_suspend   = 60
  auto_resume    = true
}

resource "snowflake_account_role" "transformer" {
  name    = "TRANSFORMER_${upper(var.env)}"
  comment = "dbt runs as this role"
}

resource "snowflake_grant_privileges_to_account_role" "transformer_database" {
  account_role_name = snowflake_account_role.transformer.name
  privileges        = ["USAGE", "CREATE SCHEMA"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.platform.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "transformer_warehouse" {
  account_role_name = snowflake_account_role.transformer.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.transform.name
  }
}
