resource "aws_iam_role" "mwaa_execution" {
  name = "parcelflow-dev-mwaa-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "airflow-env.amazonaws.com" } }]
  })
  # Read-only and service-role managed policies are scoped by AWS; the
  # bucket access is a policy of our own.
  managed_policy_arns = [
    "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
  ]
}

resource "aws_iam_policy" "mwaa_bucket" {
  name = "parcelflow-dev-mwaa-bucket"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
      Resource = ["arn:aws:s3:::parcelflow-mwaa-dev", "arn:aws:s3:::parcelflow-mwaa-dev/*"]
    }]
  })
}

resource "aws_iam_role_policy_attachment" "mwaa_bucket" {
  role       = aws_iam_role.mwaa_execution.name
  policy_arn = aws_iam_policy.mwaa_bucket.arn
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "mwaa_readonly" {
  role       = aws_iam_role.mwaa_execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonMWAAReadOnlyAccess"
}

# A customer-managed policy whose name happens to contain FullAccess lives in
# this account, not under aws:policy, and is checked as the document it is.
resource "aws_iam_user_policy_attachment" "ci" {
  user       = "ci-terraform"
  policy_arn = "arn:aws:iam::111111111111:policy/OrdersBucketFullAccess"
}

data "aws_iam_policy" "readonly" {
  name = "ReadOnlyAccess"
}

resource "aws_iam_group_policy_attachment" "data_engineers" {
  group      = "data-engineers"
  policy_arn = data.aws_iam_policy.readonly.arn
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
  ]
}
