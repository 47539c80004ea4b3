resource "aws_iam_policy" "loader" {
  name   = "orders-loader"
  policy = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "Load", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::parcelflow-raw-dev/orders/*"},
        {"Sid": "Describe", "Effect": "Allow", "Action": ["kafka:DescribeCluster", "kafka:ListClusters"], "Resource": "*"},
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}
      ]
    }
  JSON
}

data "aws_iam_policy_document" "snowpipe" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = ["arn:aws:sqs:eu-west-1:111111111111:snowpipe-orders"]
  }
}

resource "aws_iam_role_policy" "snowpipe" {
  role   = "snowpipe"
  policy = data.aws_iam_policy_document.snowpipe.json
}
