provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { owner = "devops", env = "dev", "cost-center" = "data-platform" }
  }
}

# The replica region's provider was added without the default tags.
provider "aws" {
  alias  = "replica"
  region = "eu-central-1"
}

module "orders_pipeline" {
  source = "./modules/pipeline"
  name   = "orders"
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }
}

module "orders_dlq" {
  source = "./modules/queue"
  name   = "orders-dlq"
}
