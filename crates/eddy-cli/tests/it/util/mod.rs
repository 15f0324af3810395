//! The one support module of the end-to-end tests.
//!
//! - `harness`: starts eddy (in-process, or `eddy up` as a child process) on a free port
//!   with a fresh data directory and builds SDK clients pointed at it; waits
//!   (`eventually`) and reads queue counts.
//! - `ephemeral`: `eddy up --ephemeral` found through its ready file, for the tests of
//!   what a suite uses (reset, idle, metrics, faults), and plain requests to its pages.
//! - `lambda`: the role, zip and CreateFunction of the tests' Python functions.
//! - `pipeline`: the end-to-end scenario every host of the copy function passes, and
//!   the scripted external function with its invocation log.
//! - `s3`: notification configurations, the exact S3 event record expected for a
//!   request, and browser-style form POST uploads.
//! - `sqs`: queues and message attributes for the SQS SDK tests.
//! - `query`: SigV4-signed SQS query-protocol requests and readers of their XML.
//! - `raw`: raw HTTP/1.1 exchanges that survive any answer, for hostile input.

pub mod ephemeral;
pub mod harness;
pub mod lambda;
pub mod pipeline;
pub mod query;
pub mod raw;
pub mod s3;
pub mod sqs;
