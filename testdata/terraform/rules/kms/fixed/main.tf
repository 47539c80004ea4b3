resource "aws_kms_key" "platform" {
  description             = "parcelflow-dev data platform"
  deletion_window_in_days = 30
  enable_key_rotation     = true
}

resource "aws_kms_key" "snowflake" {
  description         = "Snowflake external stage"
  enable_key_rotation = true
}

# Asymmetric keys cannot rotate automatically.
resource "aws_kms_key" "signing" {
  description              = "Release signing"
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
}
