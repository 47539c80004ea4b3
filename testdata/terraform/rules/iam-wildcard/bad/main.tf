resource "aws_iam_role" "mwaa_execution" {
  name = "parcelflow-dev-mwaa-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "airflow-env.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy" "mwaa_execution" {
  role = aws_iam_role.mwaa_execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { # want: TF-IAM-001
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = ["arn:aws:s3:::parcelflow-mwaa-dev", "arn:aws:s3:::parcelflow-mwaa-dev/*"]
      },
    ]
  })
}

data "aws_iam_policy_document" "admin" {
  statement {
    actions   = ["*"] # want: TF-IAM-001
    resources = ["arn:aws:s3:::parcelflow-mwaa-dev"]
  }
  statement {
    not_actions = ["iam:*"] # want: TF-IAM-001
    resources   = ["arn:aws:s3:::parcelflow-mwaa-dev"]
  }
}

resource "aws_iam_policy" "admin" {
  name   = "pipeline-admin"
  policy = data.aws_iam_policy_document.admin.json
}
