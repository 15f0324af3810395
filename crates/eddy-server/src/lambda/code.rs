//! Where a function's code comes from (an inline `ZipFile`, or `S3Bucket`/`S3Key` in
//! eddy's own S3), and the checks Lambda makes of the members that describe a function
//! (name, role, runtime, handler, timeout, memory, environment, architectures), with
//! Lambda's codes and messages.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use eddy_runtimes::Runtime;
use eddy_store::Store;
use eddy_store::s3::S3Error;
use futures::TryStreamExt as _;
use sha2::{Digest, Sha256};

use super::error::LambdaError;

/// The largest deployment package accepted in a request (Lambda's 50 MB zipped, as
/// its request limit says it).
pub const MAX_REQUEST_BYTES: usize = 69_905_067;

/// The largest package eddy reads from S3 (Lambda's unzipped limit).
const MAX_S3_PACKAGE_BYTES: u64 = 262_144_000;

/// A deployment package, read and checked.
pub struct Package {
    pub zip: Bytes,
    /// Base64 SHA-256, as `CodeSha256`.
    pub sha256: String,
}

/// The package of `ZipFile` (base64) or `S3Bucket`/`S3Key`/`S3ObjectVersion`.
pub async fn package(
    store: &Store,
    zip_file: Option<&str>,
    s3: (Option<&str>, Option<&str>, Option<&str>),
    image_uri: Option<&str>,
    operation: &str,
) -> Result<Package, LambdaError> {
    if image_uri.is_some() {
        return Err(LambdaError::invalid_parameter(
            "eddy runs zip deployment packages only: container images (ImageUri) are not supported",
        ));
    }
    let zip = match (zip_file, s3) {
        (Some(encoded), (None, None, None)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(Bytes::from)
            .map_err(|_| unzip_error())?,
        (None, (Some(bucket), Some(key), version)) => read_s3(store, bucket, key, version).await?,
        (None, (None, None, None)) => {
            return Err(LambdaError::invalid_parameter(format!(
                "Please provide a source for function code in the {operation} request: ZipFile, or S3Bucket and S3Key."
            )));
        }
        _ => {
            return Err(LambdaError::invalid_parameter(
                "Please do not provide other FunctionCode parameters when providing a ZipFile.",
            ));
        }
    };
    eddy_pipeline::deployed::check_package(&zip).map_err(|_| unzip_error())?;
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    Ok(Package { zip, sha256 })
}

fn unzip_error() -> LambdaError {
    LambdaError::invalid_parameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
    )
}

fn s3_error(code: &str, message: &str) -> LambdaError {
    LambdaError::invalid_parameter(format!(
        "Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
    ))
}

async fn read_s3(
    store: &Store,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Bytes, LambdaError> {
    let (meta, content) = match store.objects().open_version(bucket, key, version).await {
        Ok(opened) => opened,
        Err(S3Error::NoSuchBucket) => {
            return Err(s3_error(
                "NoSuchBucket",
                "The specified bucket does not exist",
            ));
        }
        Err(S3Error::NoSuchKey | S3Error::NoSuchVersion) => {
            return Err(s3_error("NoSuchKey", "The specified key does not exist."));
        }
        Err(error) => return Err(LambdaError::internal(error)),
    };
    if meta.size > MAX_S3_PACKAGE_BYTES {
        return Err(LambdaError::invalid_parameter(format!(
            "Unzipped size must be smaller than {MAX_S3_PACKAGE_BYTES} bytes"
        )));
    }
    let stream = content
        .into_stream(0, meta.size)
        .await
        .map_err(LambdaError::internal)?;
    let chunks: Vec<Bytes> = stream.try_collect().await.map_err(LambdaError::internal)?;
    Ok(Bytes::from(chunks.concat()))
}

/// Lambda's pattern for a function name in CreateFunction: 1 to 64 letters, digits,
/// hyphens and underscores.
pub fn check_function_name(name: &str) -> Result<(), LambdaError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(LambdaError::validation(
            name,
            "functionName",
            r"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        ))
    }
}

/// Lambda's pattern for `Role`: `arn:aws:iam::<12 digits>:role/<name>`.
pub fn check_role(role: &str) -> Result<(), LambdaError> {
    let valid = role
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .filter(|(partition, _)| partition.starts_with("aws"))
        .and_then(|(_, rest)| rest.split_once(":role/"))
        .is_some_and(|(account, name)| {
            account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b))
        });
    if valid {
        Ok(())
    } else {
        Err(LambdaError::validation(
            role,
            "role",
            r"Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        ))
    }
}

/// A runtime eddy runs, or Lambda's (or eddy's) refusal
/// (`InvalidParameterValueException`, as `RuntimeRejection::ERROR_CODE` says).
pub fn parse_runtime(value: &str) -> Result<Runtime, LambdaError> {
    value
        .parse::<Runtime>()
        .map_err(|rejection| LambdaError::invalid_parameter(rejection.to_string()))
}

/// `Timeout`: 1 to 900 seconds.
pub fn check_timeout(timeout: i64) -> Result<u32, LambdaError> {
    check_range(timeout, "timeout", 1, 900)
}

/// `MemorySize`: 128 to 10240 MB.
pub fn check_memory(memory: i64) -> Result<u32, LambdaError> {
    check_range(memory, "memorySize", 128, 10_240)
}

fn check_range(value: i64, member: &str, min: i64, max: i64) -> Result<u32, LambdaError> {
    if value < min {
        return Err(LambdaError::validation(
            &value.to_string(),
            member,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(LambdaError::validation(
            &value.to_string(),
            member,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    u32::try_from(value).map_err(LambdaError::internal)
}

/// `Architectures`: one of `x86_64` and `arm64` (eddy runs either on this machine).
pub fn check_architectures(architectures: Option<Vec<String>>) -> Result<Vec<String>, LambdaError> {
    let architectures = architectures.unwrap_or_else(|| vec!["x86_64".to_owned()]);
    let listed = format!("[{}]", architectures.join(", "));
    if architectures.len() != 1 {
        return Err(LambdaError::validation(
            &listed,
            "architectures",
            "Member must have length less than or equal to 1",
        ));
    }
    if !architectures.iter().all(|a| a == "x86_64" || a == "arm64") {
        return Err(LambdaError::validation(
            &listed,
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
        ));
    }
    Ok(architectures)
}

/// `Environment.Variables`: keys Lambda allows, none of them reserved.
pub fn check_environment(variables: &BTreeMap<String, String>) -> Result<(), LambdaError> {
    for key in variables.keys() {
        let mut bytes = key.bytes();
        let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && key.len() >= 2
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(LambdaError::validation(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            ));
        }
    }
    let reserved: Vec<&str> = variables
        .keys()
        .map(String::as_str)
        .filter(|key| eddy_runtimes::launch::RESERVED_ENVIRONMENT.contains(key))
        .collect();
    if !reserved.is_empty() {
        return Err(LambdaError::invalid_parameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    Ok(())
}

/// Layers are not run by eddy: a request naming any is refused.
pub fn check_no_layers(layers: Option<&Vec<String>>) -> Result<(), LambdaError> {
    match layers {
        Some(layers) if !layers.is_empty() => Err(LambdaError::invalid_parameter(
            "eddy does not support Lambda layers: include the layer's files in the deployment package",
        )),
        _ => Ok(()),
    }
}
