resource "aws_security_group" "bastion" {
  name   = "parcelflow-dev-bastion"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"

  ingress { # want: TF-NET-001
    description = "ssh from anywhere"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "orders_db" {
  name   = "parcelflow-dev-orders-db"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
}

resource "aws_vpc_security_group_ingress_rule" "orders_db_public" {
  security_group_id = aws_security_group.orders_db.id
  cidr_ipv6         = "::/0" # want: TF-NET-001
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}

resource "aws_security_group_rule" "web_all" {
  type              = "ingress"
  security_group_id = aws_security_group.bastion.id
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"] # want: TF-NET-001
}
