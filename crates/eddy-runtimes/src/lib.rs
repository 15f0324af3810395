//! The managed runtimes eddy runs as local processes, without Docker: `provided.al2023`
//! and `provided.al2` (the function's own `bootstrap`), `python3.9` to `python3.13` and
//! `nodejs18.x` to `nodejs22.x`.
//!
//! A Python or Node.js function runs under a local interpreter with a small Lambda
//! Runtime API client that eddy ships inside its binary (`python/bootstrap.py`,
//! `node/bootstrap.mjs`, standard library only, so nothing is installed with pip or
//! npm). The clients load the handler named by `_HANDLER`, give it Lambda's `context`,
//! log as Lambda does, and report errors in Lambda's shapes.
//!
//! - [`runtime`]: Lambda's runtime identifiers, which of them eddy runs, and Lambda's
//!   answer for the others.
//! - [`interpreter`]: finding an interpreter that actually runs, or saying what to install.
//! - [`clients`]: the embedded client scripts, written under the data directory.
//! - [`launch`]: the command and environment of a function process.
//!
//! This crate knows nothing of the store, the HTTP server or the Lambda API: the host
//! that speaks the Runtime API to the processes starts them with a [`Launch`].

pub mod clients;
pub mod interpreter;
pub mod launch;
pub mod runtime;

pub use clients::{InstallError, RuntimeClients};

/// What eddy's Python and Node.js clients print, followed by the request id, on stdout
/// and on stderr after the handler returned and before they post its result: the host
/// knows it has read everything the handler printed once it has read both marks. The
/// host removes the marks from the function's output. (`\u{1f}` is the unit separator,
/// which printed text does not contain.)
pub const INVOCATION_END_MARK: &str = "\u{1f}eddy-invocation-end ";
pub use interpreter::{Interpreter, InterpreterOverrides, MissingInterpreter, find_interpreter};
pub use launch::{Launch, LaunchError, ManagedRuntimes};
pub use runtime::{Language, Runtime, RuntimeRejection};
