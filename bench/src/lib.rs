//! eddy's benchmark harness: a Rust load generator that signs its requests with SigV4
//! and drives eddy and moto_server with the same workloads (SQS, S3, the upload-to-copy
//! pipeline, one large upload, start-up), then prints one table with ratios and targets.
//! Signing is `eddy_testing::sign`, shared with eddy's end-to-end tests.
//! `bench/run` is the one command; BENCHMARKS.md has the numbers and what limits them.

pub mod http;
pub mod load;
pub mod process;
pub mod report;
pub mod stub;
pub mod suite;
pub mod workloads;
