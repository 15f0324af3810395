# The function's execution role, with least privilege: read the source objects, write the
# destination objects, consume the queue, write its own log group. Every statement names
# its resources; none uses "*".

data "aws_iam_policy_document" "function_assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = var.function_name
  description        = "Execution role of the eddy copy function ${var.function_name}"
  assume_role_policy = data.aws_iam_policy_document.function_assume_role.json
}

data "aws_iam_policy_document" "function" {
  statement {
    sid    = "ReadSourceObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:GetObjectTagging",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${aws_s3_bucket.this["source"].arn}/*"]
  }

  # Without ListBucket, S3 answers 403 instead of 404 for a key that no longer exists, and
  # the function could not tell "source deleted since the event" (success) from a denial.
  statement {
    sid       = "ListSourceBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["source"].arn]
  }

  # CopyObject and the multipart copy of objects above 5 GiB (CreateMultipartUpload,
  # UploadPartCopy, CompleteMultipartUpload are all s3:PutObject).
  statement {
    sid    = "WriteDestinationObjects"
    effect = "Allow"
    actions = [
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${aws_s3_bucket.this["destination"].arn}/*"]
  }

  statement {
    sid    = "ConsumeQueue"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.main.arn]
  }

  statement {
    sid    = "WriteOwnLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "${var.function_name}-pipeline"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
