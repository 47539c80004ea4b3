# The MWAA environment, its DAG bucket and its execution role.

resource "aws_s3_bucket" "mwaa" {
  bucket = local.mwaa_bucket_name
}

# MWAA requires versioning; Conveyor's rollbacks use old object versions too.
resource "aws_s3_bucket_versioning" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.platform.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_security_group" "mwaa" {
  name        = "${local.name}-mwaa"
  description = "MWAA workers and web server"
  vpc_id      = var.vpc_id

  ingress {
    description = "MWAA components talk to each other"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "AWS APIs, Snowflake and the source database"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_mwaa_environment" "this" {
  name                 = local.mwaa_environment_name
  airflow_version      = "2.10.3"
  environment_class    = var.mwaa_environment_class
  max_workers          = var.mwaa_max_workers
  source_bucket_arn    = aws_s3_bucket.mwaa.arn
  dag_s3_path          = "dags/"
  requirements_s3_path = "requirements.txt"
  execution_role_arn   = aws_iam_role.mwaa_execution.arn
  kms_key              = aws_kms_key.platform.arn

  webserver_access_mode = "PRIVATE_ONLY"

  network_configuration {
    security_group_ids = [aws_security_group.mwaa.id]
    subnet_ids         = slice(var.private_subnet_ids, 0, 2)
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "WARNING"
    }
  }
}

data "aws_iam_policy_document" "mwaa_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "mwaa_execution" {
  name               = "${local.name}-mwaa-execution"
  assume_role_policy = data.aws_iam_policy_document.mwaa_assume.json
}

# The execution role as AWS documents it for MWAA, scoped to this
# environment's bucket, log groups, Celery queues, key and Kafka cluster.
data "aws_iam_policy_document" "mwaa_execution" {
  statement {
    sid       = "PublishMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = ["arn:aws:airflow:${var.region}:${var.aws_account_id}:environment/${local.mwaa_environment_name}"]
  }

  statement {
    sid       = "ReadDagBucket"
    actions   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    resources = [aws_s3_bucket.mwaa.arn, "${aws_s3_bucket.mwaa.arn}/*"]
  }

  statement {
    sid       = "AccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }

  statement {
    sid = "TaskLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:CreateLogGroup",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:GetLogRecord",
      "logs:GetLogGroupFields",
      "logs:GetQueryResults",
    ]
    resources = ["arn:aws:logs:${var.region}:${var.aws_account_id}:log-group:airflow-${local.mwaa_environment_name}-*"]
  }

  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
  }

  statement {
    sid = "CeleryQueues"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = ["arn:aws:sqs:${var.region}:*:airflow-celery-*"]
  }

  statement {
    sid       = "PlatformKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [aws_kms_key.platform.arn]
  }

  statement {
    sid       = "KafkaClient"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData", "kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
    resources = [aws_msk_cluster.events.arn, "arn:aws:kafka:${var.region}:${var.aws_account_id}:topic/${local.name}-events/*", "arn:aws:kafka:${var.region}:${var.aws_account_id}:group/${local.name}-events/*"]
  }

  statement {
    sid       = "SourceDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_db_instance.orders_source.master_user_secret[0].secret_arn]
  }
}

resource "aws_iam_role_policy" "mwaa_execution" {
  name   = "mwaa-execution"
  role   = aws_iam_role.mwaa_execution.id
  policy = data.aws_iam_policy_document.mwaa_execution.json
}
