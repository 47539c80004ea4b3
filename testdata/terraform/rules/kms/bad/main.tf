resource "aws_kms_key" "platform" { # want: TF-KMS-001
  description             = "parcelflow-dev data platform"
  deletion_window_in_days = 30
}

resource "aws_kms_key" "snowflake" {
  description         = "Snowflake external stage"
  enable_key_rotation = false # want: TF-KMS-001
}
