# The role Conveyor assumes from the tooling account to deploy DAGs: write
# the MWAA bucket's dags/ prefix, and read and update the MWAA environment.
# Nothing else. Conveyor sets SourceIdentity to the GitHub login who deployed.

data "aws_iam_policy_document" "conveyor_trust" {
  statement {
    sid     = "ConveyorFromTooling"
    actions = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.tooling_account_id}:role/conveyor"]
    }
    condition {
      test     = "StringLike"
      variable = "sts:SourceIdentity"
      values   = ["*"]
    }
  }
}

resource "aws_iam_role" "conveyor_deploy" {
  name                 = "conveyor-deploy"
  description          = "Conveyor deploys DAGs to ${local.mwaa_environment_name}"
  assume_role_policy   = data.aws_iam_policy_document.conveyor_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "conveyor_deploy" {
  statement {
    sid       = "WriteDags"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.mwaa.arn}/dags/*"]
  }

  statement {
    sid       = "ListDags"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.mwaa.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["dags/*"]
    }
  }

  statement {
    sid       = "EncryptDags"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }

  statement {
    sid       = "UpdateMwaa"
    actions   = ["airflow:UpdateEnvironment", "airflow:GetEnvironment"]
    resources = [aws_mwaa_environment.this.arn]
  }
}

resource "aws_iam_role_policy" "conveyor_deploy" {
  name   = "conveyor-deploy"
  role   = aws_iam_role.conveyor_deploy.id
  policy = data.aws_iam_policy_document.conveyor_deploy.json
}
