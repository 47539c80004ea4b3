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
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
        Resource = ["arn:aws:s3:::parcelflow-mwaa-dev", "arn:aws:s3:::parcelflow-mwaa-dev/*"]
      },
      {
        # Deny statements may use wildcards: they only take away.
        Effect   = "Deny"
        Action   = "s3:*"
        Resource = ["arn:aws:s3:::parcelflow-finance-dev/*"]
      },
    ]
  })
}

data "aws_iam_policy_document" "admin" {
  statement {
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = ["arn:aws:s3:::parcelflow-mwaa-dev"]
  }
}

resource "aws_iam_policy" "admin" {
  name   = "pipeline-read"
  policy = data.aws_iam_policy_document.admin.json
}
