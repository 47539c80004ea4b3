locals {
  name = "parcelflow-${var.env}"

  tags = {
    owner         = "devops"
    env           = var.env
    "cost-center" = "data-platform"
    repo          = "parcelflow/data-platform"
  }

  mwaa_environment_name = "parcelflow-${var.env}"
  mwaa_bucket_name      = "parcelflow-mwaa-${var.env}"
}
