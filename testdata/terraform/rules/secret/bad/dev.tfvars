snowflake_password   = "Sn0wfl4ke-From-Tfvars!" # want: TF-SECRET-001
orders_db_identifier = "orders-dev"
