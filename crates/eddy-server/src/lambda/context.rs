//! What one Lambda request works with ([`LambdaContext`]: the state, the request's
//! ids, the endpoint it came to), and how a path names a function
//! ([`resolve_function_name`]). Every operation module imports it from here.

use crate::state::{AppState, RequestIds};

use super::code;
use super::error::LambdaError;

/// What one Lambda request works with.
pub struct LambdaContext<'a> {
    pub state: &'a AppState,
    pub ids: &'a RequestIds,
    /// `http://host:port` the request came to.
    pub endpoint: String,
}

impl LambdaContext<'_> {
    pub(crate) fn store(&self) -> &eddy_store::Store {
        &self.state.store
    }

    /// The ARN of function `name`.
    pub(crate) fn arn(&self, name: &str) -> String {
        let settings = self.store().settings();
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            settings.region, settings.account_id
        )
    }
}

/// A function named by a name, a partial ARN (`<account>:function:<name>`) or an ARN,
/// with the qualifier it may carry.
pub fn resolve_function_name(value: &str) -> Result<(String, Option<String>), LambdaError> {
    let parts: Vec<&str> = value.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        [name] => (*name, None),
        [name, qualifier] => (*name, Some(*qualifier)),
        [_, "function", name] => (*name, None),
        [_, "function", name, qualifier] => (*name, Some(*qualifier)),
        ["arn", _, "lambda", _, _, "function", name] => (*name, None),
        ["arn", _, "lambda", _, _, "function", name, qualifier] => (*name, Some(*qualifier)),
        _ => ("", None),
    };
    code::check_function_name(name).map_err(|_| {
        LambdaError::validation(
            value,
            "functionName",
            r"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    })?;
    Ok((name.to_owned(), qualifier.map(str::to_owned)))
}
