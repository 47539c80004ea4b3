variable "aws_account_id" {
  type = string
}

provider "aws" {
  region              = "eu-west-1"
  allowed_account_ids = ["333333333333"] # want: TF-ACCOUNT-001
  assume_role {
    role_arn = "arn:aws:iam::333333333333:role/terraform" # want: TF-ACCOUNT-001
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
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["arn:aws:s3:::parcelflow-raw-prod/*", "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"] # want: TF-ACCOUNT-001
    }]
  })
}
