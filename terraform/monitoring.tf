# Alarms, the topic they notify, the key that encrypts the topic and the function's logs,
# and a dashboard of the whole pipeline.

locals {
  # Every alarm below is named "<function_name>-...".
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${var.function_name}-*"
}

# A customer-managed key, because CloudWatch alarms cannot publish to a topic encrypted
# with the AWS-managed alias/aws/sns key (its key policy cannot grant cloudwatch.amazonaws.com).
resource "aws_kms_key" "pipeline" {
  description             = "eddy ${var.function_name}: encrypts the alarm topic and the function's log group"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  # In a key policy, Resource "*" means "this key"; the service statements are scoped by
  # account and, for CloudWatch Logs, by log group.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.alarm_arn_pattern }
        }
      },
      {
        Sid       = "CloudWatchLogsEncryptFunctionLogGroup"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "pipeline" {
  name          = "alias/${var.function_name}-pipeline"
  target_key_id = aws_kms_key.pipeline.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.function_name}-alarms"
  kms_master_key_id = aws_kms_key.pipeline.arn
}

# Only this pipeline's alarms may publish (confused-deputy protection for the shared
# CloudWatch service principal); people and tools in the account use their IAM policies.
data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisPipelinePublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_pattern]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# Any message in the DLQ is a file that was not copied. Idle queues publish no data points,
# so missing data is "OK".
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.function_name}-dlq-not-empty"
  alarm_description   = "Messages in ${var.dlq_name}: objects that failed ${var.max_receive_count} times and were not copied. Inspect them, fix the cause, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${var.function_name}-queue-backlog-age"
  alarm_description   = "The oldest message in ${var.queue_name} waited more than ${var.oldest_message_age_alarm_seconds} s: the function is failing, throttled or too slow."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.main.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_age_alarm_seconds
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "Invocations of ${var.function_name} failed as a whole (a crash, a timeout or a malformed response): the entire batch is retried."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.copy.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  alarm_name          = "${var.function_name}-throttles"
  alarm_description   = "Invocations of ${var.function_name} were throttled: the account's concurrency is exhausted."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.copy.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_duration" {
  alarm_name          = "${var.function_name}-duration-near-timeout"
  alarm_description   = "A batch of ${var.function_name} ran longer than ${var.duration_alarm_percent_of_timeout}% of its ${var.function_timeout_seconds} s timeout: raise function_timeout_seconds or lower batch_size."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.copy.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.function_timeout_seconds * 1000 * var.duration_alarm_percent_of_timeout / 100
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

locals {
  queue_names = [aws_sqs_queue.main.name, aws_sqs_queue.dlq.name]
  function    = aws_lambda_function.copy.function_name

  dashboard_widgets = [
    {
      type   = "metric"
      x      = 0
      y      = 0
      width  = 12
      height = 6
      properties = {
        title   = "Queue depth"
        region  = var.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 60
        metrics = [for name in local.queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name]]
      }
    },
    {
      type   = "metric"
      x      = 12
      y      = 0
      width  = 12
      height = 6
      properties = {
        title  = "Age of oldest message (s)"
        region = var.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 60
        metrics = [
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.main.name],
        ]
        annotations = {
          horizontal = [{ label = "alarm", value = var.oldest_message_age_alarm_seconds }]
        }
      }
    },
    {
      type   = "metric"
      x      = 0
      y      = 6
      width  = 12
      height = 6
      properties = {
        title  = "Messages (${aws_sqs_queue.main.name})"
        region = var.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/SQS", "NumberOfMessagesSent", "QueueName", aws_sqs_queue.main.name],
          ["AWS/SQS", "NumberOfMessagesReceived", "QueueName", aws_sqs_queue.main.name],
          ["AWS/SQS", "NumberOfMessagesDeleted", "QueueName", aws_sqs_queue.main.name],
          ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", aws_sqs_queue.main.name, { stat = "Maximum" }],
        ]
      }
    },
    {
      type   = "metric"
      x      = 12
      y      = 6
      width  = 12
      height = 6
      properties = {
        title  = "Function invocations"
        region = var.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.function],
          ["AWS/Lambda", "Errors", "FunctionName", local.function],
          ["AWS/Lambda", "Throttles", "FunctionName", local.function],
          ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.function, { stat = "Maximum" }],
        ]
      }
    },
    {
      type   = "metric"
      x      = 0
      y      = 12
      width  = 12
      height = 6
      properties = {
        title  = "Function duration (ms)"
        region = var.region
        view   = "timeSeries"
        period = 60
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", local.function, { stat = "Average" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.function, { stat = "p99" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.function, { stat = "Maximum" }],
        ]
        annotations = {
          horizontal = [{ label = "timeout", value = var.function_timeout_seconds * 1000 }]
        }
      }
    },
    {
      type   = "alarm"
      x      = 12
      y      = 12
      width  = 12
      height = 6
      properties = {
        title = "Alarms"
        alarms = [
          aws_cloudwatch_metric_alarm.dlq_not_empty.arn,
          aws_cloudwatch_metric_alarm.oldest_message_age.arn,
          aws_cloudwatch_metric_alarm.function_errors.arn,
          aws_cloudwatch_metric_alarm.function_throttles.arn,
          aws_cloudwatch_metric_alarm.function_duration.arn,
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${var.function_name}-pipeline"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
