variable "aws_account_id" {
  type = string
}

provider "aws" {
  region              = "eu-west-1"
  allowed_account_ids = [var.aws_account_id]
  # The other environments' accounts may be named to refuse them.
  forbidden_account_ids = ["222222222222"]
  assume_role {
    role_arn = "arn:aws:iam::${var.aws_account_id}:role/terraform"
  }
  default_tags {
    tags = { owner = "devops", env = "dev", "cost-center" = "data-platform" }
  }
}

resource "aws_iam_role_policy" "reader" {
  role = "orders-reader"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = ["s3:GetObject"]
      # The tooling account is not an environment's account.
      Resource = ["arn:aws:s3:::parcelflow-raw-dev/*", "arn:aws:kms:eu-west-1:444444444444:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    }]
  })
}
