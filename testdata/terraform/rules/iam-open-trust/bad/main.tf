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

# GitHub Actions deploys through OIDC, but the trust names no provider and no
# repository: any identity provider's users may assume the role.
resource "aws_iam_role" "github_deploy" {
  name = "github-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { # want: TF-IAM-004
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = "*" }
      },
      { # want: TF-IAM-004
        # The audience is the same for every repository on GitHub.
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = "*" }
        Condition = { StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" } }
      },
      { # want: TF-IAM-004
        # GitHub's provider by name, still with no repository named.
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
        Condition = { StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" } }
      },
    ]
  })
}

# A condition that anyone meets does not close an open trust.
resource "aws_iam_role" "partner_reader" {
  name = "partner-reader"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { # want: TF-IAM-004
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = "*" }
        Condition = { Bool = { "aws:SecureTransport" = "true" } }
      },
      { # want: TF-IAM-004
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = ["*"] }
        Condition = { StringEqualsIfExists = { "aws:PrincipalOrgID" = "o-parcelflow" } }
      },
      { # want: TF-IAM-004
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = "*"
        Condition = { StringLike = { "aws:PrincipalAccount" = "*" } }
      },
    ]
  })
}

data "aws_iam_policy_document" "oidc_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals { # want: TF-IAM-004
      type        = "Federated"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "oidc" {
  name               = "oidc-deploy"
  assume_role_policy = data.aws_iam_policy_document.oidc_trust.json
}

# GitHub Actions' provider in a policy document, trusted for every repository.
data "aws_iam_policy_document" "github_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals { # want: TF-IAM-004
      type        = "Federated"
      identifiers = ["arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"]
    }
  }
}

resource "aws_iam_role" "github_ci" {
  name               = "github-ci"
  assume_role_policy = data.aws_iam_policy_document.github_trust.json
}
