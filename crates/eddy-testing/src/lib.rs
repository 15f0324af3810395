//! What eddy's end-to-end tests (`crates/eddy-cli/tests/it`) and its load generator
//! (`bench/`) share, so that there is one way to sign and one way to send a request
//! that no SDK would send:
//!
//! - [`sign`]: SigV4 signing with `aws-sigv4`, the signer inside every AWS SDK for
//!   Rust, so eddy verifies exactly what SDKs send. It signs an `http::Request` (the
//!   benchmark's hyper client) or loose header lists (raw requests, which may carry
//!   headers the `http` crate would refuse).
//! - [`raw`]: a blocking HTTP/1.1 exchange over a plain TCP connection that survives
//!   any answer, or none, and reads the status, headers and body of what came back.
//!
//! This crate knows nothing of eddy's internals: it speaks only the wire protocols.

pub mod raw;
pub mod sign;

pub use raw::RawResponse;
pub use sign::{Payload, Service, SignError, Signer};
