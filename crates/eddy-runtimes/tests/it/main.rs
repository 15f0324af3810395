//! eddy's Runtime API clients under real interpreters: each test starts function
//! processes the way eddy does ([`eddy_runtimes::ManagedRuntimes::launch`]) against a
//! Runtime API server of its own that records exactly what the client posts, and checks
//! the shapes Lambda's own runtimes produce (results, context, errors, logs).

mod function;
mod launch;
mod node;
mod python;
mod runtime_api;
