//! eddy in a test suite, from Rust, and what eddy's end-to-end tests
//! (`crates/eddy-cli/tests/it`) and its load generator (`bench/`) share:
//!
//! - [`in_process`] (feature `in-process`, on by default): [`TestEddy`], an eddy started
//!   inside the test process, with SDK clients, `reset()`, `wait_idle()`, `trace()` and
//!   faults on demand.
//!
//! And one way to sign and one way to send a request that no SDK would send:
//!
//! - [`sign`]: SigV4 signing with `aws-sigv4`, the signer inside every AWS SDK for
//!   Rust, so eddy verifies exactly what SDKs send. It signs an `http::Request` (the
//!   benchmark's hyper client) or loose header lists (raw requests, which may carry
//!   headers the `http` crate would refuse).
//! - [`raw`]: a blocking HTTP/1.1 exchange over a plain TCP connection that survives
//!   any answer, or none, and reads the status, headers and body of what came back.
//!
//! The signer and the raw client know nothing of eddy's internals: they speak only the
//! wire protocols.

#[cfg(feature = "in-process")]
pub mod in_process;
pub mod raw;
pub mod sign;

pub use raw::RawResponse;
pub use sign::{Payload, Service, SignError, Signer};

#[cfg(feature = "in-process")]
pub use in_process::{HarnessError, TestEddy, TestEddyOptions};

/// What [`TestEddy`]'s calls take and answer, so that a suite needs no other eddy crate.
#[cfg(feature = "in-process")]
pub use eddy_faults::{FaultKind, FaultSpec};
#[cfg(feature = "in-process")]
pub use eddy_server::harness::{IdleAnswer, Pending};
#[cfg(feature = "in-process")]
pub use eddy_server::trace::Trace;
#[cfg(feature = "in-process")]
pub use eddy_store::reset::ResetReport;
