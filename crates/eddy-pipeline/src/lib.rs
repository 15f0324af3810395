//! What moves events in eddy: event source mappings that poll queues of the store and
//! invoke functions, the filters they apply, and the hosts that run functions.
//!
//! - [`poller`]: the one receive → handle → delete loop, with back-off, scaling and
//!   graceful shutdown, shared by [`mapping`] and `eddy worker` through the
//!   [`poller::MessageQueue`] and [`poller::BatchHandler`] traits.
//! - [`mapping`]: event source mappings over the store ([`store_queue`]); what each
//!   batch goes through is the [`invoker`]'s, with the [`event_filter`] patterns.
//! - [`function`]: the function seam; its hosts are [`builtin`] (the copy function
//!   in-process over the store) and [`external`] (processes speaking the Lambda Runtime
//!   API, each with its own loopback HTTP endpoint); [`deployed`] runs the functions
//!   created through the Lambda API on [`external`] with `eddy-runtimes`' launchers,
//!   [`api_mappings`] runs the event source mappings created through the API and
//!   [`async_invocations`] their queued asynchronous invocations, whose outcomes go
//!   to the [`destinations`] of their event invoke configuration; [`configured`]
//!   runs the functions of `eddy.toml` when the Lambda API invokes them.
//!
//! The pipeline knows the store's operations and the Lambda event shapes. It must not
//! know SQL, files or HTTP routing of the public endpoint (that is the store's and the
//! server's), nor the AWS SDK: `eddy worker` brings its own [`poller::MessageQueue`].

pub mod api_mappings;
pub mod async_invocations;
pub mod builtin;
pub mod configured;
pub mod deployed;
pub mod destinations;
pub mod event_filter;
pub mod external;
pub mod function;
pub mod invoker;
pub mod mapping;
pub mod poller;
pub mod store_queue;
