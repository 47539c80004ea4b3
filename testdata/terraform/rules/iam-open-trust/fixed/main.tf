resource "aws_iam_role" "conveyor_deploy" {
  name = "conveyor-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
        Principal = { AWS = "arn:aws:iam::444444444444:role/conveyor" }
      },
    ]
  })
}

data "aws_iam_policy_document" "exports" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::parcelflow-exports-dev/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::555555555555:role/partner-reader"]
    }
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["arn:aws:s3:::parcelflow-exports-dev/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "OrgOnly"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::parcelflow-exports-dev/shared/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = ["o-parcelflow"]
    }
  }
}

resource "aws_s3_bucket_policy" "exports" {
  bucket = "parcelflow-exports-dev"
  policy = data.aws_iam_policy_document.exports.json
}
