//! The Lambda API (REST-JSON under `/2015-03-31/`), on the same port as S3 and SQS.
//! A request comes here when its SigV4 credential scope names the `lambda` service.
//!
//! A request is SigV4-verified, matched to an operation by method and path
//! ([`Route`]), its JSON body read into the operation's input struct ([`model`]), run
//! against the store (and, for Invoke, the pipeline's function host), and answered as
//! Lambda answers: JSON with the model's member names, errors with `x-amzn-ErrorType`
//! ([`error`]).
//!
//! - [`functions`]: Create/Get/List/Update/DeleteFunction, GetFunctionConfiguration;
//! - [`invoke`]: Invoke; [`mappings`]: the event source mapping operations;
//! - [`versions`]: PublishVersion, ListVersionsByFunction and the alias operations;
//! - [`policy`]: tags and the resource policy (AddPermission, RemovePermission,
//!   GetPolicy);
//! - [`event_invoke`]: the event invoke configurations (retries, event age and
//!   destinations of asynchronous invocations);
//! - [`code`]: deployment packages and Lambda's member checks;
//! - [`configured`]: the functions and mappings of `eddy.toml`, read-only.

pub mod code;
pub mod configured;
pub mod context;
pub mod error;
pub mod event_invoke;
pub mod functions;
pub mod invoke;
pub mod mappings;
pub mod model;
pub mod policy;
pub mod versions;

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sigv4::{self, AuthError, SignedRequest};
use crate::state::{AppState, RequestIds};
pub use context::{LambdaContext, resolve_function_name};
use error::{LambdaError, LambdaErrorKind, error_response, json_response};
use invoke::InvokeInput;

/// The largest Lambda request body read (a CreateFunction with a 50 MB zip, base64).
pub const MAX_BODY_BYTES: usize = code::MAX_REQUEST_BYTES;

/// The Lambda operations eddy serves, by method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListFunctions,
    CreateFunction,
    GetFunction(String),
    DeleteFunction(String),
    GetFunctionConfiguration(String),
    UpdateFunctionConfiguration(String),
    UpdateFunctionCode(String),
    Invoke(String),
    PutConcurrency(String),
    GetConcurrency(String),
    DeleteConcurrency(String),
    AddPermission(String),
    GetPolicy(String),
    RemovePermission(String, String),
    ListTags(String),
    TagResource(String),
    UntagResource(String),
    PublishVersion(String),
    ListVersionsByFunction(String),
    CreateAlias(String),
    ListAliases(String),
    GetAlias(String, String),
    UpdateAlias(String, String),
    DeleteAlias(String, String),
    ListEventSourceMappings,
    CreateEventSourceMapping,
    GetEventSourceMapping(String),
    UpdateEventSourceMapping(String),
    DeleteEventSourceMapping(String),
    PutEventInvokeConfig(String),
    GetEventInvokeConfig(String),
    UpdateEventInvokeConfig(String),
    DeleteEventInvokeConfig(String),
    ListEventInvokeConfigs(String),
}

impl Route {
    /// The operation of a request, or `UnknownOperationException`.
    pub fn of(method: &Method, path: &str) -> Result<Self, LambdaError> {
        let unknown = || {
            LambdaError::new(
                LambdaErrorKind::UnknownOperation,
                format!("Unknown operation {method} {path}"),
            )
        };
        for prefix in ["/2017-10-31/functions/", "/2019-09-30/functions/"] {
            if let Some(name) = path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix("/concurrency"))
            {
                let name = percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned();
                return Ok(match (method, prefix) {
                    (&Method::PUT, "/2017-10-31/functions/") => Route::PutConcurrency(name),
                    (&Method::DELETE, "/2017-10-31/functions/") => Route::DeleteConcurrency(name),
                    (&Method::GET, "/2019-09-30/functions/") => Route::GetConcurrency(name),
                    _ => return Err(unknown()),
                });
            }
        }
        if let Some(rest) = path.strip_prefix("/2019-09-25/functions/") {
            let decode = |name: &str| {
                percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            if let Some(name) = rest.strip_suffix("/event-invoke-config/list") {
                return match *method {
                    Method::GET => Ok(Route::ListEventInvokeConfigs(decode(name))),
                    _ => Err(unknown()),
                };
            }
            let name = rest
                .strip_suffix("/event-invoke-config")
                .map(decode)
                .ok_or_else(unknown)?;
            return Ok(match *method {
                Method::PUT => Route::PutEventInvokeConfig(name),
                Method::GET => Route::GetEventInvokeConfig(name),
                Method::POST => Route::UpdateEventInvokeConfig(name),
                Method::DELETE => Route::DeleteEventInvokeConfig(name),
                _ => return Err(unknown()),
            });
        }
        if let Some(rest) = path.strip_prefix("/2017-03-31/tags/") {
            let resource = percent_encoding::percent_decode_str(rest)
                .decode_utf8_lossy()
                .into_owned();
            return Ok(match *method {
                Method::GET => Route::ListTags(resource),
                Method::POST => Route::TagResource(resource),
                Method::DELETE => Route::UntagResource(resource),
                _ => return Err(unknown()),
            });
        }
        if let Some(rest) = path.strip_prefix("/2015-03-31/event-source-mappings") {
            let uuid = rest.trim_matches('/').to_owned();
            return Ok(match (method, uuid.is_empty()) {
                (&Method::GET, true) => Route::ListEventSourceMappings,
                (&Method::POST, true) => Route::CreateEventSourceMapping,
                (&Method::GET, false) => Route::GetEventSourceMapping(uuid),
                (&Method::PUT, false) => Route::UpdateEventSourceMapping(uuid),
                (&Method::DELETE, false) => Route::DeleteEventSourceMapping(uuid),
                _ => return Err(unknown()),
            });
        }
        let rest = path
            .strip_prefix("/2015-03-31/functions")
            .ok_or_else(unknown)?;
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let route = match (method, segments.as_slice()) {
            (&Method::GET, []) => Route::ListFunctions,
            (&Method::POST, []) => Route::CreateFunction,
            (&Method::GET, [name]) => Route::GetFunction(name.clone()),
            (&Method::DELETE, [name]) => Route::DeleteFunction(name.clone()),
            (&Method::GET, [name, c]) if c == "configuration" => {
                Route::GetFunctionConfiguration(name.clone())
            }
            (&Method::PUT, [name, c]) if c == "configuration" => {
                Route::UpdateFunctionConfiguration(name.clone())
            }
            (&Method::PUT, [name, c]) if c == "code" => Route::UpdateFunctionCode(name.clone()),
            (&Method::POST, [name, i]) if i == "invocations" => Route::Invoke(name.clone()),
            (&Method::POST, [name, p]) if p == "policy" => Route::AddPermission(name.clone()),
            (&Method::GET, [name, p]) if p == "policy" => Route::GetPolicy(name.clone()),
            (&Method::DELETE, [name, p, sid]) if p == "policy" => {
                Route::RemovePermission(name.clone(), sid.clone())
            }
            (&Method::POST, [name, v]) if v == "versions" => Route::PublishVersion(name.clone()),
            (&Method::GET, [name, v]) if v == "versions" => {
                Route::ListVersionsByFunction(name.clone())
            }
            (&Method::POST, [name, a]) if a == "aliases" => Route::CreateAlias(name.clone()),
            (&Method::GET, [name, a]) if a == "aliases" => Route::ListAliases(name.clone()),
            (&Method::GET, [name, a, alias]) if a == "aliases" => {
                Route::GetAlias(name.clone(), alias.clone())
            }
            (&Method::PUT, [name, a, alias]) if a == "aliases" => {
                Route::UpdateAlias(name.clone(), alias.clone())
            }
            (&Method::DELETE, [name, a, alias]) if a == "aliases" => {
                Route::DeleteAlias(name.clone(), alias.clone())
            }
            _ => return Err(unknown()),
        };
        Ok(route)
    }
}

fn auth_error(error: AuthError) -> LambdaError {
    let kind = match error {
        AuthError::Missing => LambdaErrorKind::MissingAuthenticationToken,
        AuthError::UnknownAccessKey | AuthError::InvalidToken | AuthError::ExpiredToken => {
            LambdaErrorKind::UnrecognizedClient
        }
        AuthError::Incomplete(_) | AuthError::SignatureMismatch | AuthError::Expired(_) => {
            LambdaErrorKind::InvalidSignature
        }
    };
    LambdaError::new(kind, error.to_string())
}

fn parse_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, LambdaError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        LambdaError::new(
            LambdaErrorKind::InvalidRequestContent,
            format!("Could not parse request body into json: {error}"),
        )
    })
}

fn ok_json<T: Serialize>(
    status: StatusCode,
    output: &T,
    ids: &RequestIds,
) -> Result<Response<s3s::Body>, LambdaError> {
    let body = serde_json::to_string(output).map_err(LambdaError::internal)?;
    Ok(json_response(status, body, ids))
}

/// Where GetFunction's `Code.Location` points: `<prefix><name>/code` downloads the
/// function's deployment package (like Lambda's presigned link, it needs no signature).
pub const CODE_DOWNLOAD_PREFIX: &str = "/_eddy/lambda/functions/";

/// Answers a download of a function's deployment package (`rest` is `<name>/code`).
pub async fn code_download(state: &AppState, rest: &str, ids: &RequestIds) -> Response<s3s::Body> {
    let Some(name) = rest.strip_suffix("/code") else {
        return error_response(
            &LambdaError::new(LambdaErrorKind::UnknownOperation, "Not found"),
            ids,
        );
    };
    match state.store.functions().code(name).await {
        Ok(zip) => {
            let mut response = Response::new(s3s::Body::from(zip));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/zip"),
            );
            response
        }
        Err(_) => error_response(
            &LambdaError::new(
                LambdaErrorKind::ResourceNotFound,
                format!("Function not found: {name}"),
            ),
            ids,
        ),
    }
}

/// Handles one Lambda request whose body has been read.
pub async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    match run(state, parts, body, ids).await {
        Ok(response) => response,
        Err(error) => error_response(&error, ids),
    }
}

async fn run(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> Result<Response<s3s::Body>, LambdaError> {
    let now = eddy_store::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    sigv4::verify(&signed, now, |key, token| state.resolve_secret(key, token))
        .map_err(auth_error)?;
    let route = Route::of(&parts.method, parts.uri.path())?;
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4566");
    let context = LambdaContext {
        state,
        ids,
        endpoint: format!("http://{host}"),
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    match route {
        Route::ListFunctions => {
            ok_json(StatusCode::OK, &context.list_functions(&query).await?, ids)
        }
        Route::CreateFunction => {
            let input = parse_json(&body)?;
            ok_json(
                StatusCode::CREATED,
                &context.create_function(input).await?,
                ids,
            )
        }
        Route::GetFunction(name) => {
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            let output = context.get_function(&name, qualifier.as_deref()).await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::GetFunctionConfiguration(name) => {
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            let output = context
                .get_configuration(&name, qualifier.as_deref())
                .await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::PutConcurrency(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let input: model::Concurrency = parse_json(&body)?;
            let reserved = input.reserved_concurrent_executions.ok_or_else(|| {
                LambdaError::validation(
                    "null",
                    "reservedConcurrentExecutions",
                    "Member must not be null",
                )
            })?;
            let output = context.put_concurrency(&name, Some(reserved)).await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::GetConcurrency(name) => {
            let (name, _) = resolve_function_name(&name)?;
            ok_json(StatusCode::OK, &context.get_concurrency(&name).await?, ids)
        }
        Route::DeleteConcurrency(name) => {
            let (name, _) = resolve_function_name(&name)?;
            context.put_concurrency(&name, None).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::AddPermission(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let output = context.add_permission(&name, parse_json(&body)?).await?;
            ok_json(StatusCode::CREATED, &output, ids)
        }
        Route::GetPolicy(name) => {
            let (name, _) = resolve_function_name(&name)?;
            ok_json(StatusCode::OK, &context.get_policy(&name).await?, ids)
        }
        Route::RemovePermission(name, sid) => {
            let (name, _) = resolve_function_name(&name)?;
            context.remove_permission(&name, &sid).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::ListTags(resource) => {
            ok_json(StatusCode::OK, &context.list_tags(&resource).await?, ids)
        }
        Route::TagResource(resource) => {
            context.tag_resource(&resource, parse_json(&body)?).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::UntagResource(resource) => {
            let keys: Vec<String> =
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .filter(|(k, _)| k == "tagKeys")
                    .map(|(_, v)| v.into_owned())
                    .collect();
            context.untag_resource(&resource, &keys).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::PublishVersion(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let output = context.publish_version(&name, parse_json(&body)?).await?;
            ok_json(StatusCode::CREATED, &output, ids)
        }
        Route::ListVersionsByFunction(name) => {
            let (name, _) = resolve_function_name(&name)?;
            ok_json(StatusCode::OK, &context.list_versions(&name).await?, ids)
        }
        Route::CreateAlias(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let output = context.put_alias(&name, None, parse_json(&body)?).await?;
            ok_json(StatusCode::CREATED, &output, ids)
        }
        Route::ListAliases(name) => {
            let (name, _) = resolve_function_name(&name)?;
            ok_json(StatusCode::OK, &context.list_aliases(&name).await?, ids)
        }
        Route::GetAlias(name, alias) => {
            let (name, _) = resolve_function_name(&name)?;
            ok_json(
                StatusCode::OK,
                &context.get_alias(&name, &alias).await?,
                ids,
            )
        }
        Route::UpdateAlias(name, alias) => {
            let (name, _) = resolve_function_name(&name)?;
            let output = context
                .put_alias(&name, Some(&alias), parse_json(&body)?)
                .await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::DeleteAlias(name, alias) => {
            let (name, _) = resolve_function_name(&name)?;
            context.delete_alias(&name, &alias).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::DeleteFunction(name) => {
            let (name, _) = resolve_function_name(&name)?;
            context.delete_function(&name).await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::UpdateFunctionCode(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let input = parse_json(&body)?;
            ok_json(
                StatusCode::OK,
                &context.update_code(&name, input).await?,
                ids,
            )
        }
        Route::UpdateFunctionConfiguration(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let input = parse_json(&body)?;
            ok_json(
                StatusCode::OK,
                &context.update_configuration(&name, input).await?,
                ids,
            )
        }
        Route::ListEventSourceMappings => {
            ok_json(StatusCode::OK, &context.list_mappings(&query).await?, ids)
        }
        Route::CreateEventSourceMapping => {
            let input = parse_json(&body)?;
            ok_json(
                StatusCode::ACCEPTED,
                &context.create_mapping(input).await?,
                ids,
            )
        }
        Route::GetEventSourceMapping(uuid) => {
            ok_json(StatusCode::OK, &context.get_mapping(&uuid).await?, ids)
        }
        Route::UpdateEventSourceMapping(uuid) => {
            let input = parse_json(&body)?;
            ok_json(
                StatusCode::ACCEPTED,
                &context.update_mapping(&uuid, input).await?,
                ids,
            )
        }
        Route::DeleteEventSourceMapping(uuid) => ok_json(
            StatusCode::ACCEPTED,
            &context.delete_mapping(&uuid).await?,
            ids,
        ),
        Route::PutEventInvokeConfig(name) | Route::UpdateEventInvokeConfig(name) => {
            let change = if parts.method == Method::PUT {
                event_invoke::Change::Put
            } else {
                event_invoke::Change::Update
            };
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            let output = context
                .put_event_invoke_config(&name, qualifier.as_deref(), parse_json(&body)?, change)
                .await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::GetEventInvokeConfig(name) => {
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            let output = context
                .get_event_invoke_config(&name, qualifier.as_deref())
                .await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::DeleteEventInvokeConfig(name) => {
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            context
                .delete_event_invoke_config(&name, qualifier.as_deref())
                .await?;
            Ok(json_response(StatusCode::NO_CONTENT, String::new(), ids))
        }
        Route::ListEventInvokeConfigs(name) => {
            let (name, _) = resolve_function_name(&name)?;
            let output = context.list_event_invoke_configs(&name, &query).await?;
            ok_json(StatusCode::OK, &output, ids)
        }
        Route::Invoke(name) => {
            let (name, path_qualifier) = resolve_function_name(&name)?;
            let qualifier = query.get("Qualifier").cloned().or(path_qualifier);
            context
                .invoke(InvokeInput {
                    name: &name,
                    qualifier: qualifier.as_deref(),
                    invocation_type: header("x-amz-invocation-type"),
                    log_type: header("x-amz-log-type"),
                    payload: body,
                })
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_model_paths() {
        assert_eq!(
            Route::of(&Method::POST, "/2015-03-31/functions/f/invocations"),
            Ok(Route::Invoke("f".to_owned()))
        );
        assert_eq!(
            Route::of(&Method::GET, "/2015-03-31/functions/"),
            Ok(Route::ListFunctions)
        );
        assert_eq!(
            Route::of(&Method::PUT, "/2015-03-31/functions/f/code"),
            Ok(Route::UpdateFunctionCode("f".to_owned()))
        );
        assert!(Route::of(&Method::PATCH, "/2015-03-31/functions/f").is_err());
    }

    #[test]
    fn function_names_may_be_arns() {
        assert_eq!(
            resolve_function_name("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"),
            Ok(("f".to_owned(), Some("$LATEST".to_owned())))
        );
        assert_eq!(
            resolve_function_name("000000000000:function:f"),
            Ok(("f".to_owned(), None))
        );
        assert!(resolve_function_name("bad name").is_err());
    }
}
