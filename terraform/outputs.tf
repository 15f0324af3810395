output "source_bucket_name" {
  description = "Bucket to upload into; every new object is copied to the destination bucket."
  value       = aws_s3_bucket.this["source"].id
}

output "destination_bucket_name" {
  description = "Bucket that receives the copies."
  value       = aws_s3_bucket.this["destination"].id
}

output "queue_url" {
  description = "URL of the queue that carries the source bucket's ObjectCreated events."
  value       = aws_sqs_queue.main.url
}

output "queue_arn" {
  description = "ARN of the queue that carries the source bucket's ObjectCreated events."
  value       = aws_sqs_queue.main.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue (inspect failed events here)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue (the SourceArn of a redrive: aws sqs start-message-move-task --source-arn ...)."
  value       = aws_sqs_queue.dlq.arn
}

output "function_name" {
  description = "Name of the copy function."
  value       = aws_lambda_function.copy.function_name
}

output "function_arn" {
  description = "ARN of the copy function."
  value       = aws_lambda_function.copy.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = aws_cloudwatch_log_group.function.name
}

output "alarm_topic_arn" {
  description = "SNS topic that the pipeline's alarms notify; subscribe more endpoints to it."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the pipeline."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.pipeline.dashboard_name}"
}
