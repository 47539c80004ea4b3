variable "name" {
  type = string
}

resource "aws_sqs_queue" "this" { # want: TF-TAGS-001
  name                    = var.name
  sqs_managed_sse_enabled = true
}
