# The queue between the source bucket and the function, its dead-letter queue, the policy
# that lets only the source bucket send to it, and the bucket notification.

resource "aws_sqs_queue" "dlq" {
  name                      = var.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true

  lifecycle {
    precondition {
      condition     = var.dlq_message_retention_seconds >= var.message_retention_seconds
      error_message = "dlq_message_retention_seconds must be at least message_retention_seconds: a message moved to the dead-letter queue keeps its original enqueue time, so a shorter retention would delete it early."
    }

    precondition {
      condition     = var.dlq_name != var.queue_name
      error_message = "dlq_name and queue_name must differ."
    }
  }
}

resource "aws_sqs_queue" "main" {
  name                       = var.queue_name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = local.visibility_timeout_seconds >= var.function_timeout_seconds
      error_message = "visibility_timeout_seconds must be at least function_timeout_seconds (Lambda rejects the event source mapping otherwise); leave it null for 6 x function_timeout_seconds, as AWS recommends."
    }

    precondition {
      condition     = local.visibility_timeout_seconds <= 43200
      error_message = "6 x function_timeout_seconds passes the 43200 s visibility limit: set visibility_timeout_seconds explicitly."
    }
  }
}

# Only the pipeline's queue may send its failed messages to the dead-letter queue, and
# only back to it may a redrive move them.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main.arn]
  })
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "AllowSourceBucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.main.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    # Only this bucket in this account: S3 is a shared service principal, so without both
    # conditions any bucket of any account could send events here (confused deputy).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this["source"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.main.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "main" {
  queue_url = aws_sqs_queue.main.id
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_s3_bucket_notification" "source" {
  bucket = aws_s3_bucket.this["source"].id

  queue {
    id            = "${var.queue_name}-object-created"
    queue_arn     = aws_sqs_queue.main.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.notification_filter_prefix == "" ? null : var.notification_filter_prefix
    filter_suffix = var.notification_filter_suffix == "" ? null : var.notification_filter_suffix
  }

  # S3 validates the destination when the configuration is put: it sends a test event,
  # which fails unless the queue policy already lets the bucket send.
  depends_on = [aws_sqs_queue_policy.main]
}
