resource "aws_db_instance" "orders" { # want: TF-DB-001
  identifier                  = "orders-dev"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  manage_master_user_password = true
  username                    = "orders"
}

resource "aws_rds_cluster" "metadata" {
  cluster_identifier          = "airflow-metadata-dev"
  engine                      = "aurora-postgresql"
  storage_encrypted           = false # want: TF-DB-001
  manage_master_user_password = true
  master_username             = "airflow"
}

resource "aws_msk_cluster" "events" {
  cluster_name           = "parcelflow-dev-events"
  kafka_version          = "3.6.0"
  number_of_broker_nodes = 3
  broker_node_group_info {
    instance_type   = "kafka.t3.small"
    client_subnets  = ["subnet-0a1", "subnet-0b2", "subnet-0c3"]
    security_groups = ["sg-0123456789abcdef0"]
  }
  encryption_info {
    encryption_in_transit {
      client_broker = "TLS_PLAINTEXT" # want: TF-DB-001
      in_cluster    = false           # want: TF-DB-001
    }
  }
}

resource "aws_redshift_cluster" "finance" {
  cluster_identifier     = "finance-dev"
  node_type              = "ra3.xlplus"
  manage_master_password = true
  master_username        = "finance"
  encrypted              = false # want: TF-DB-001
}
