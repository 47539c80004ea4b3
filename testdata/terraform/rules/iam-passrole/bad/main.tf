data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "StartJobs"
    actions   = ["glue:StartJobRun"]
    resources = ["arn:aws:glue:eu-west-1:111111111111:job/orders-*"]
  }
  statement {
    sid       = "PassRole"
    actions   = ["iam:PassRole"]
    resources = ["*"] # want: TF-IAM-003
  }
  statement {
    # A wildcard that covers iam:PassRole and nothing else is reported once,
    # as the PassRole it is.
    sid       = "PassAny"
    actions   = ["iam:Pass*"]
    resources = ["*"] # want: TF-IAM-003
  }
}

resource "aws_iam_role_policy" "pipeline" {
  role   = "orders-pipeline"
  policy = data.aws_iam_policy_document.pipeline.json
}
