//! Data formats shared by every part of eddy, with no I/O.
//!
//! - [`s3_event`]: the S3 event notification JSON (records, the test event), and the
//!   object key encoding AWS uses inside it.
//! - [`lambda`]: the Lambda SQS event a function receives and the batch response it
//!   returns (re-exported from `aws_lambda_events`, so the Lambda and eddy share types).
//! - [`arn`]: building and splitting the ARNs eddy hands out.

pub mod arn;
pub mod lambda;
pub mod s3_event;
