resource "aws_db_instance" "orders" {
  identifier                  = "orders-dev"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  storage_encrypted           = true
  manage_master_user_password = true
  username                    = "orders"
  publicly_accessible         = false
}

resource "aws_msk_cluster" "events" {
  cluster_name           = "parcelflow-dev-events"
  kafka_version          = "3.6.0"
  number_of_broker_nodes = 3
  broker_node_group_info {
    instance_type   = "kafka.m5.large"
    client_subnets  = ["subnet-0a1", "subnet-0b2", "subnet-0c3"]
    security_groups = ["sg-0123456789abcdef0"]
    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }
}

resource "aws_redshiftserverless_namespace" "analytics" {
  namespace_name        = "parcelflow-dev-analytics"
  db_name               = "analytics"
  manage_admin_password = true
}

resource "aws_redshiftserverless_workgroup" "analytics" {
  namespace_name      = aws_redshiftserverless_namespace.analytics.namespace_name
  workgroup_name      = "parcelflow-dev-analytics"
  base_capacity       = 8
  subnet_ids          = ["subnet-0a1", "subnet-0b2", "subnet-0c3"]
  publicly_accessible = false
}
