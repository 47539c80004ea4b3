resource "aws_iam_policy" "loader" {
  name = "orders-loader"
  # want-next: TF-IAM-002
  policy = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "Load", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"},
        {"Sid": "Describe", "Effect": "Allow", "Action": ["kafka:DescribeCluster", "kafka:ListClusters"], "Resource": "*"}
      ]
    }
  JSON
}

data "aws_iam_policy_document" "snowpipe" {
  statement {
    actions   = ["sqs:SendMessage", "s3:GetObject"]
    resources = ["*"] # want: TF-IAM-002
  }
}

resource "aws_iam_role_policy" "snowpipe" {
  role   = "snowpipe"
  policy = data.aws_iam_policy_document.snowpipe.json
}
