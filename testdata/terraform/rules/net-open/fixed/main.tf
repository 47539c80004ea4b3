resource "aws_security_group" "alb" {
  name   = "parcelflow-dev-airflow-alb"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"

  ingress {
    description = "HTTPS to the load balancer"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0", "::/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_lb" "airflow" {
  name               = "parcelflow-dev-airflow"
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = ["subnet-0a1", "subnet-0b2"]
}

resource "aws_security_group" "orders_db" {
  name   = "parcelflow-dev-orders-db"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
}

resource "aws_security_group" "mwaa" {
  name   = "parcelflow-dev-mwaa"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
}

resource "aws_vpc_security_group_ingress_rule" "orders_db_from_mwaa" {
  security_group_id            = aws_security_group.orders_db.id
  referenced_security_group_id = aws_security_group.mwaa.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_ingress_rule" "office" {
  security_group_id = aws_security_group.orders_db.id
  cidr_ipv4         = "10.20.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}
