# The copy function (the eddy-lambda crate built as a provided.al2023 `bootstrap`), its log
# group, and the event source mapping that feeds it batches from the queue.

resource "aws_cloudwatch_log_group" "function" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}

resource "aws_lambda_function" "copy" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing needs xray:PutTraceSegments on Resource "*" (X-Ray has no resource-level permissions), which the least-privilege role avoids; the pipeline is observed through the CloudWatch metrics, alarms and dashboard instead.
  #checkov:skip=CKV_AWS_115:Concurrency is capped per source by the event source mapping's maximum_concurrency; reserved concurrency would take capacity from the account pool and, if set below maximum_concurrency, throttle batches back into the queue.
  #checkov:skip=CKV_AWS_116:A function DLQ only catches asynchronous invocations; this function is invoked synchronously by the SQS event source mapping, whose failures go to the queue's redrive policy and dead-letter queue (queues.tf).
  #checkov:skip=CKV_AWS_117:The function only calls the S3 and SQS public endpoints and has no private resource to reach; putting it in a VPC would need NAT or VPC endpoints for no gain.
  #checkov:skip=CKV_AWS_173:The environment holds only the destination bucket name and prefix, no secrets; Lambda encrypts it at rest with its AWS-managed key.
  #checkov:skip=CKV_AWS_272:The package is built from this repository by `cargo lambda build` and deployed by Terraform with a source_code_hash; AWS Signer code signing is an organisation-level choice not configured here.
  function_name = var.function_name
  description   = "eddy: copies each object created in ${var.source_bucket_name} into ${var.destination_bucket_name}"
  role          = aws_iam_role.function.arn

  # `cargo lambda build --release --output-format zip -p eddy-lambda` produces
  # target/lambda/eddy-lambda/bootstrap.zip holding one executable named `bootstrap`.
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = local.lambda_zip_path
  source_code_hash = filebase64sha256(local.lambda_zip_path)

  timeout     = var.function_timeout_seconds
  memory_size = var.function_memory_mb

  environment {
    variables = {
      DESTINATION_BUCKET = aws_s3_bucket.this["destination"].id
      DESTINATION_PREFIX = var.destination_prefix
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  # The log group must exist (with its retention and key) before the function first runs,
  # or Lambda creates an unmanaged one that never expires; the role's policy must be in
  # place before the first invocation.
  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
  ]
}

resource "aws_lambda_event_source_mapping" "queue" {
  event_source_arn = aws_sqs_queue.main.arn
  function_name    = aws_lambda_function.copy.arn
  enabled          = true

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds

  # The function returns {"batchItemFailures": [...]}: only those records are retried (and
  # reach the DLQ after max_receive_count receives); the rest of the batch is deleted.
  function_response_types = var.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.maximum_batching_window_seconds >= 1
      error_message = "batch_size above 10 needs maximum_batching_window_seconds >= 1 (Lambda rejects the mapping otherwise)."
    }

    precondition {
      condition     = local.visibility_timeout_seconds >= var.function_timeout_seconds
      error_message = "The queue's visibility timeout must be at least function_timeout_seconds (Lambda rejects the mapping otherwise)."
    }
  }

  # Lambda checks at creation that the role may receive from the queue.
  depends_on = [aws_iam_role_policy.function]
}
