locals {
  admin_policy = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role" "mwaa_execution" {
  name = "parcelflow-dev-mwaa-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "airflow-env.amazonaws.com" } }]
  })
  managed_policy_arns = [
    "arn:aws:iam::aws:policy/AmazonS3FullAccess", # want: TF-IAM-005
    "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
  ]
}

resource "aws_iam_role_policy_attachment" "mwaa_admin" {
  role       = aws_iam_role.mwaa_execution.name
  policy_arn = local.admin_policy # want: TF-IAM-005
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "mwaa_lambda" {
  role       = aws_iam_role.mwaa_execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSLambda_FullAccess" # want: TF-IAM-005
}

resource "aws_iam_user_policy_attachment" "ci" {
  user       = "ci-terraform"
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess" # want: TF-IAM-005
}

data "aws_iam_policy" "admin" {
  name = "AdministratorAccess"
}

resource "aws_iam_group_policy_attachment" "data_engineers" {
  group      = "data-engineers"
  policy_arn = data.aws_iam_policy.admin.arn # want: TF-IAM-005
}

resource "aws_iam_policy_attachment" "analysts" {
  name       = "analysts-redshift"
  groups     = ["analysts"]
  policy_arn = "arn:aws:iam::aws:policy/AmazonRedshiftFullAccess" # want: TF-IAM-005
}

resource "aws_iam_role" "glue" {
  name = "orders-glue"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "glue.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachments_exclusive" "glue" {
  role_name = aws_iam_role.glue.name
  policy_arns = [
    "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify", # want: TF-IAM-005
  ]
}
