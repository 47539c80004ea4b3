resource "aws_iam_role" "conveyor_deploy" {
  name = "conveyor-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { # want: TF-IAM-004
        Effect    = "Allow"
        Action    = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
        Principal = { AWS = "*" }
      },
    ]
  })
}

data "aws_iam_policy_document" "exports" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::parcelflow-exports-dev/*"]
    principals { # want: TF-IAM-004
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "exports" {
  bucket = "parcelflow-exports-dev"
  policy = data.aws_iam_policy_document.exports.json
}
