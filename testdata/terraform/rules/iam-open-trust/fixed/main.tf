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

# The same roles, trusting only the callers their conditions name.
resource "aws_iam_role" "github_deploy" {
  name = "github-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:parcelflow/data-platform:ref:refs/heads/main"
          }
        }
      },
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = "*" }
        Condition = {
          StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
          StringLike   = { "token.actions.githubusercontent.com:sub" = "repo:parcelflow/data-platform:environment:dev" }
        }
      },
    ]
  })
}

resource "aws_iam_role" "partner_reader" {
  name = "partner-reader"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = "*" }
        Condition = {
          Bool         = { "aws:SecureTransport" = "true" }
          StringEquals = { "sts:ExternalId" = "parcelflow-partner-7f3a" }
        }
      },
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = ["*"] }
        Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-parcelflow" } }
      },
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = "*"
        Condition = { StringEquals = { "aws:PrincipalAccount" = ["444444444444"] } }
      },
    ]
  })
}

data "aws_iam_policy_document" "oidc_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "cognito-identity.amazonaws.com:aud"
      values   = ["eu-west-1:0f5c2d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"]
    }
  }
}

resource "aws_iam_role" "oidc" {
  name               = "oidc-deploy"
  assume_role_policy = data.aws_iam_policy_document.oidc_trust.json
}

# GitHub Actions' provider in a policy document, for one repository's main branch.
data "aws_iam_policy_document" "github_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:parcelflow/data-platform:ref:refs/heads/main"]
    }
  }
}

resource "aws_iam_role" "github_ci" {
  name               = "github-ci"
  assume_role_policy = data.aws_iam_policy_document.github_trust.json
}
