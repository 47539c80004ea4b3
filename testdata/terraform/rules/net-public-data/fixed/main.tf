resource "aws_internet_gateway" "main" {
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
}

resource "aws_subnet" "a" {
  vpc_id            = "vpc-0d1e2f3a4b5c6d7e8"
  cidr_block        = "10.0.1.0/24"
  availability_zone = "eu-west-1a"
}

resource "aws_subnet" "b" {
  vpc_id            = "vpc-0d1e2f3a4b5c6d7e8"
  cidr_block        = "10.0.2.0/24"
  availability_zone = "eu-west-1b"
}

resource "aws_route_table" "public" {
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_subnet" "lb" {
  vpc_id            = "vpc-0d1e2f3a4b5c6d7e8"
  cidr_block        = "10.0.100.0/24"
  availability_zone = "eu-west-1a"
}

resource "aws_route_table_association" "lb" {
  subnet_id      = aws_subnet.lb.id
  route_table_id = aws_route_table.public.id
}

resource "aws_db_subnet_group" "orders" {
  name       = "orders-dev"
  subnet_ids = [aws_subnet.a.id, aws_subnet.b.id]
}

resource "aws_db_instance" "orders" {
  identifier                  = "orders-dev"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  storage_encrypted           = true
  manage_master_user_password = true
  username                    = "orders"
  db_subnet_group_name        = aws_db_subnet_group.orders.name
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  name    = "parcelflow-dev"
  cidr    = "10.0.0.0/16"
}

resource "aws_msk_cluster" "events" {
  cluster_name           = "parcelflow-dev-events"
  kafka_version          = "3.6.0"
  number_of_broker_nodes = 3
  broker_node_group_info {
    instance_type   = "kafka.t3.small"
    client_subnets  = module.vpc.private_subnets
    security_groups = ["sg-0123456789abcdef0"]
  }
}

resource "aws_redshiftserverless_workgroup" "analytics" {
  namespace_name = "parcelflow-dev-analytics"
  workgroup_name = "parcelflow-dev-analytics"
  subnet_ids     = module.vpc.private_subnets
}
