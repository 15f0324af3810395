# Input variables.
#
# Every setting that eddy.toml also has carries the same name and the same default here
# (see eddy.toml.example at the repository root): one vocabulary describes the pipeline on
# one machine and on AWS. eddy.toml's account_id, access_key_id and secret_access_key are
# local-only: on AWS the account and credentials come from the provider's credential chain.
# The validation blocks mirror the ranges that AWS itself enforces, so a bad value stops
# `terraform plan` instead of failing half-way through `terraform apply`.

# --- Account -----------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy the whole pipeline into (the bucket notification requires the queue to be in the bucket's region)."
  type        = string
  default     = "us-east-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as \"us-east-1\" or \"eu-central-1\"."
  }
}

# --- Buckets -----------------------------------------------------------------------

variable "source_bucket_name" {
  description = "Name of the bucket that uploads go to; every object created in it raises an event. S3 bucket names are global: pick a unique one for AWS."
  type        = string
  default     = "source"
  nullable    = false

  validation {
    condition = (
      length(var.source_bucket_name) >= 3 &&
      length(var.source_bucket_name) <= 63 &&
      can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.source_bucket_name)) &&
      !strcontains(var.source_bucket_name, "..") &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.source_bucket_name)) &&
      !startswith(var.source_bucket_name, "xn--") &&
      !startswith(var.source_bucket_name, "sthree-") &&
      !endswith(var.source_bucket_name, "-s3alias") &&
      !endswith(var.source_bucket_name, "--ol-s3") &&
      !endswith(var.source_bucket_name, ".mrap") &&
      !endswith(var.source_bucket_name, "--x-s3")
    )
    error_message = "source_bucket_name must follow the S3 bucket naming rules: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, no '..', not an IP address, no reserved prefix (xn--, sthree-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3)."
  }
}

variable "destination_bucket_name" {
  description = "Name of the bucket that the function copies every new source object into. S3 bucket names are global: pick a unique one for AWS."
  type        = string
  default     = "destination"
  nullable    = false

  validation {
    condition = (
      length(var.destination_bucket_name) >= 3 &&
      length(var.destination_bucket_name) <= 63 &&
      can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.destination_bucket_name)) &&
      !strcontains(var.destination_bucket_name, "..") &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.destination_bucket_name)) &&
      !startswith(var.destination_bucket_name, "xn--") &&
      !startswith(var.destination_bucket_name, "sthree-") &&
      !endswith(var.destination_bucket_name, "-s3alias") &&
      !endswith(var.destination_bucket_name, "--ol-s3") &&
      !endswith(var.destination_bucket_name, ".mrap") &&
      !endswith(var.destination_bucket_name, "--x-s3")
    )
    error_message = "destination_bucket_name must follow the S3 bucket naming rules: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, no '..', not an IP address, no reserved prefix (xn--, sthree-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3)."
  }
}

variable "destination_prefix" {
  description = "Prefix put before every key copied into the destination bucket (\"\" keeps the key as it is)."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = length(var.destination_prefix) <= 1024
    error_message = "destination_prefix must be at most 1024 characters (the S3 key limit)."
  }
}

variable "notification_filter_prefix" {
  description = "Only objects whose key starts with this raise events (\"\" = any key). Written in the event's key encoding, as S3 filter rules are."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = length(var.notification_filter_prefix) <= 1024 && !strcontains(var.notification_filter_prefix, "*")
    error_message = "notification_filter_prefix must be at most 1024 characters and contain no wildcard (S3 filter rules take none)."
  }
}

variable "notification_filter_suffix" {
  description = "Only objects whose key ends with this raise events (\"\" = any key). Written in the event's key encoding, as S3 filter rules are."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = length(var.notification_filter_suffix) <= 1024 && !strcontains(var.notification_filter_suffix, "*")
    error_message = "notification_filter_suffix must be at most 1024 characters and contain no wildcard (S3 filter rules take none)."
  }
}

variable "bucket_versioning" {
  description = "Keep object versions in both buckets (S3 versioning Enabled; false leaves it Suspended). Protects against overwrites and deletes."
  type        = bool
  default     = true

  # A bool variable still accepts null, which would break every conditional reading it.
  validation {
    condition     = var.bucket_versioning != null
    error_message = "bucket_versioning must be true or false."
  }
}

variable "bucket_sse_algorithm" {
  description = "Default server-side encryption of both buckets: \"AES256\" (SSE-S3) or \"aws:kms\" (SSE-KMS with the account's aws/s3 key and an S3 Bucket Key)."
  type        = string
  default     = "AES256"
  nullable    = false

  validation {
    condition     = contains(["AES256", "aws:kms"], var.bucket_sse_algorithm)
    error_message = "bucket_sse_algorithm must be \"AES256\" or \"aws:kms\"."
  }
}

variable "source_object_expiration_days" {
  description = "Delete objects from the source bucket this many days after upload (null = keep them). Copies in the destination bucket are not affected."
  type        = number
  default     = null

  validation {
    condition     = var.source_object_expiration_days == null ? true : (var.source_object_expiration_days >= 1 && floor(var.source_object_expiration_days) == var.source_object_expiration_days)
    error_message = "source_object_expiration_days must be null or a whole number of days >= 1."
  }
}

variable "destination_object_expiration_days" {
  description = "Delete objects from the destination bucket this many days after they were copied (null = keep them)."
  type        = number
  default     = null

  validation {
    condition     = var.destination_object_expiration_days == null ? true : (var.destination_object_expiration_days >= 1 && floor(var.destination_object_expiration_days) == var.destination_object_expiration_days)
    error_message = "destination_object_expiration_days must be null or a whole number of days >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "With versioning on, delete versions this many days after a newer version replaced them."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days >= 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets together with every object (and version) in them. Keep false for real data; set true for a trial deployment."
  type        = bool
  default     = false

  # A bool variable still accepts null, which would break every conditional reading it.
  validation {
    condition     = var.force_destroy != null
    error_message = "force_destroy must be true or false."
  }
}

# --- Queues ------------------------------------------------------------------------

variable "queue_name" {
  description = "Name of the standard SQS queue that receives the source bucket's ObjectCreated events."
  type        = string
  default     = "file-events"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.queue_name))
    error_message = "queue_name must be 1-80 characters of A-Z, a-z, 0-9, '_' and '-' (a standard queue: no .fifo)."
  }
}

variable "dlq_name" {
  description = "Name of the dead-letter queue that receives messages which failed max_receive_count times."
  type        = string
  default     = "file-events-dlq"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.dlq_name))
    error_message = "dlq_name must be 1-80 characters of A-Z, a-z, 0-9, '_' and '-' (a standard queue: no .fifo)."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue (RedrivePolicy maxReceiveCount, 1..1000). AWS suggests at least 5 in production."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received message stays hidden from other consumers (0..43200). null = 6 x function_timeout_seconds, as AWS recommends (30 with the defaults, eddy.toml's default). Must be at least function_timeout_seconds."
  type        = number
  default     = null

  validation {
    condition     = var.visibility_timeout_seconds == null ? true : (var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds)
    error_message = "visibility_timeout_seconds must be null or a whole number from 0 to 43200."
  }
}

variable "message_retention_seconds" {
  description = "Seconds the queue keeps a message (60..1209600)."
  type        = number
  default     = 345600
  nullable    = false

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "Seconds the dead-letter queue keeps a message (60..1209600). A moved message keeps its original enqueue time, so this must be at least message_retention_seconds."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600 && floor(var.dlq_message_retention_seconds) == var.dlq_message_retention_seconds
    error_message = "dlq_message_retention_seconds must be a whole number from 60 to 1209600."
  }
}

# --- Function and event source mapping ---------------------------------------------

variable "function_name" {
  description = "Name of the Lambda function that copies objects (also names its log group, role, alarms and dashboard)."
  type        = string
  default     = "eddy-copy"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'."
  }
}

variable "function_timeout_seconds" {
  description = "Seconds one invocation (one batch) may run before it fails as a whole (Lambda timeout, 1..900)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number from 1 to 900."
  }
}

variable "function_memory_mb" {
  description = "Memory of the function in MB (Lambda MemorySize, 128..10240); CPU scales with it."
  type        = number
  default     = 128
  nullable    = false

  validation {
    condition     = var.function_memory_mb >= 128 && var.function_memory_mb <= 10240 && floor(var.function_memory_mb) == var.function_memory_mb
    error_message = "function_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the function: \"x86_64\" (what `cargo lambda build` produces by default) or \"arm64\" (build with `cargo lambda build --arm64`; cheaper per GB-second)."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "lambda_zip_path" {
  description = "Path of the function's deployment package, as `cargo lambda build --release --output-format zip -p eddy-lambda` writes it. A relative path is relative to this terraform/ directory."
  type        = string
  default     = "../target/lambda/eddy-lambda/bootstrap.zip"
  nullable    = false

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "batch_size" {
  description = "Messages per function invocation (1..10000; above 10 needs maximum_batching_window_seconds >= 1)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_seconds" {
  description = "Seconds to gather a batch before invoking (MaximumBatchingWindowInSeconds, 0..300)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300 && floor(var.maximum_batching_window_seconds) == var.maximum_batching_window_seconds
    error_message = "maximum_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "maximum_concurrency" {
  description = "Concurrent batches the event source mapping may run (ScalingConfig.MaximumConcurrency, 2..1000)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number from 2 to 1000."
  }
}

variable "report_batch_item_failures" {
  description = "Report partial batch failures (FunctionResponseTypes = [\"ReportBatchItemFailures\"]): only the failed records of a batch are retried. eddy's function returns batchItemFailures, so keep this on."
  type        = bool
  default     = true

  # A bool variable still accepts null, which would break every conditional reading it.
  validation {
    condition     = var.report_batch_item_failures != null
    error_message = "report_batch_item_failures must be true or false."
  }
}

# --- Monitoring --------------------------------------------------------------------

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the function's log (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (\"\" = no subscription). AWS sends a confirmation mail that must be accepted."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be \"\" or an e-mail address."
  }
}

variable "oldest_message_age_alarm_seconds" {
  description = "Alarm when the oldest message in the queue is older than this many seconds (the processing objective; 60..1209600)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.oldest_message_age_alarm_seconds >= 60 && var.oldest_message_age_alarm_seconds <= 1209600 && floor(var.oldest_message_age_alarm_seconds) == var.oldest_message_age_alarm_seconds
    error_message = "oldest_message_age_alarm_seconds must be a whole number from 60 to 1209600."
  }
}

variable "duration_alarm_percent_of_timeout" {
  description = "Alarm when the function's maximum duration passes this percentage of function_timeout_seconds (1..100): batches are about to time out."
  type        = number
  default     = 80
  nullable    = false

  validation {
    condition     = var.duration_alarm_percent_of_timeout >= 1 && var.duration_alarm_percent_of_timeout <= 100
    error_message = "duration_alarm_percent_of_timeout must be from 1 to 100."
  }
}

variable "tags" {
  description = "Tags put on every resource (through the provider's default_tags)."
  type        = map(string)
  default = {
    application = "eddy"
  }
  nullable = false

  validation {
    condition = alltrue([
      for key, value in var.tags :
      length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")
    ])
    error_message = "tags keys must be 1-128 characters and not start with \"aws:\"; values at most 256 characters."
  }
}
