# The orders database belongs to the orders service; the pipelines only read
# from it. Terraform references it and opens the one port MWAA needs.

data "aws_db_instance" "orders_source" {
  db_instance_identifier = var.orders_db_identifier
}

resource "aws_vpc_security_group_ingress_rule" "orders_source_from_mwaa" {
  security_group_id            = one(data.aws_db_instance.orders_source.vpc_security_groups)
  referenced_security_group_id = aws_security_group.mwaa.id
  description                  = "Airflow extracts read the orders database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
