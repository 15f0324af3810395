# The two buckets: uploads land in the source bucket, the function copies them into the
# destination bucket. Both get the same hardening (public access blocked, default
# encryption, ACLs disabled, versioning, TLS-only access, lifecycle rules); only the source
# bucket raises events (see queues.tf for its notification).

locals {
  buckets = {
    source = {
      name            = var.source_bucket_name
      expiration_days = var.source_object_expiration_days
    }
    destination = {
      name            = var.destination_bucket_name
      expiration_days = var.destination_object_expiration_days
    }
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a separate log bucket (which would itself need one); object-level activity is better audited with CloudTrail data events in the account's central trail, which this pipeline does not own.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice for the account, not part of the pipeline: the destination bucket already holds a second copy of every source object.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) by default is deliberate: no key policy to manage and no per-object KMS request cost or throttling; bucket_sse_algorithm = "aws:kms" switches both buckets to SSE-KMS.
  #checkov:skip=CKV2_AWS_62:The source bucket's notification is aws_s3_bucket_notification.source (queues.tf); the destination bucket is the pipeline's sink and has no consumer for events.
  for_each = local.buckets

  bucket        = each.value.name
  force_destroy = var.force_destroy

  lifecycle {
    precondition {
      condition     = var.source_bucket_name != var.destination_bucket_name
      error_message = "source_bucket_name and destination_bucket_name must differ: copying into the bucket that raises the events would loop."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = var.bucket_sse_algorithm
    }
    bucket_key_enabled = var.bucket_sse_algorithm == "aws:kms"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  versioning_configuration {
    status = var.bucket_versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  # Objects above 5 GiB are copied with multipart uploads; a copy that fails half-way must
  # not leave parts that are billed forever.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = var.bucket_versioning ? "Enabled" : "Disabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  dynamic "rule" {
    for_each = local.buckets[each.key].expiration_days == null ? [] : [local.buckets[each.key].expiration_days]

    content {
      id     = "expire-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  # Lifecycle rules on a bucket whose versioning is still being configured fail.
  depends_on = [aws_s3_bucket_versioning.this]
}

# Refuse every request that does not use TLS, from anyone (the function and S3 itself use TLS).
data "aws_iam_policy_document" "bucket_tls_only" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

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

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket_tls_only[each.key].json

  # S3 rejects a bucket policy while Block Public Access is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
