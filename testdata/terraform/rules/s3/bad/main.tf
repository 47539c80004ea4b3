resource "aws_s3_bucket" "mwaa" { # want: TF-S3-001 TF-S3-002 TF-S3-003
  bucket = "parcelflow-mwaa-dev"
}

resource "aws_s3_bucket" "raw" {
  bucket = "parcelflow-raw-dev"
}

resource "aws_s3_bucket_versioning" "raw" {
  bucket = aws_s3_bucket.raw.id
  versioning_configuration {
    status = "Suspended" # want: TF-S3-001
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "raw" {
  bucket = aws_s3_bucket.raw.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "raw" { # want: TF-S3-003
  bucket                  = aws_s3_bucket.raw.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = true
}
