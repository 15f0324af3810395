//! eddy's end-to-end tests: one test binary, one module per area, one support module
//! (`util`). Every test starts an eddy of its own (see `util::harness`) and drives it
//! over HTTP with real clients: the AWS SDK for Rust, the AWS CLI, and SigV4-signed raw
//! HTTP for what no SDK sends. Most run eddy inside this process; the tests of what
//! needs a process (its log, signals, kills and restarts, memory, metrics) run the real
//! `eddy` binary.
//!
//! Long or heavy tests take their size from the environment: `EDDY_SOAK_SECONDS`,
//! `EDDY_BIG_OBJECT_GIB`, `EDDY_CRASH_ROUNDS` and `EDDY_CRASH_SEED`.

mod util;

mod crash;
mod credentials;
mod disk_full;
mod fault_kinds;
mod fault_reach;
mod function_bootstrap;
mod function_builtin;
mod function_python;
mod hostile;
mod iam_sts;
mod lambda_api;
mod lambda_async;
mod lambda_configured;
mod lambda_destinations;
mod lambda_mappings;
mod lambda_policy;
mod lambda_runtimes;
mod lambda_throttle;
mod lambda_versions;
mod mapping_rules;
mod memory;
mod metrics;
mod operator;
mod pipeline;
mod reset_lambda;
mod s3_checksums;
mod s3_cli;
mod s3_create_bucket;
mod s3_error_bodies;
mod s3_lambda;
mod s3_notification_config;
mod s3_notification_fidelity;
mod s3_notifications;
mod s3_objects;
mod s3_regions;
mod s3_requests;
mod s3_versioning;
mod soak;
mod sqs_cli;
mod sqs_fidelity;
mod sqs_fifo;
mod sqs_query;
mod sqs_sdk;
mod sqs_sdk_redrive;
mod test_suite;
mod trace_faults;
mod wait_latency;
mod worker_hosts;
