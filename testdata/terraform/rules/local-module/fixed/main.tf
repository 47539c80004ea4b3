provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { owner = "devops", env = "dev", "cost-center" = "data-platform" }
  }
}

provider "aws" {
  alias  = "replica"
  region = "eu-central-1"
  default_tags {
    tags = { owner = "devops", env = "dev", "cost-center" = "data-platform" }
  }
}

module "orders_pipeline" {
  source         = "./modules/pipeline"
  name           = "orders"
  deploy_account = "111111111111"
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }
}

module "orders_dlq" {
  source = "./modules/queue"
  name   = "orders-dlq"
}
