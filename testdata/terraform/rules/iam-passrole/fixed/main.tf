data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "StartJobs"
    actions   = ["glue:StartJobRun"]
    resources = ["arn:aws:glue:eu-west-1:111111111111:job/orders-*"]
  }
  statement {
    sid       = "PassRole"
    actions   = ["iam:PassRole"]
    resources = ["arn:aws:iam::111111111111:role/orders-glue-job"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["glue.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "pipeline" {
  role   = "orders-pipeline"
  policy = data.aws_iam_policy_document.pipeline.json
}
