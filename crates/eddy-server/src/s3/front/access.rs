//! Access control for S3 requests: signed requests are the account's; an unsigned
//! request for a bucket that does not exist is `NoSuchBucket`, as on S3, and any other
//! is allowed only by the bucket's policy or ACLs (`s3::authz`). The operation `s3s`
//! resolved is noted for metrics.

use std::sync::{Arc, Mutex};

use s3s::S3Result;
use s3s::access::{S3Access, S3AccessContext};

use crate::s3::authz::{DeniedKeys, Target, access_denied, authorize_anonymous};
use crate::state::Sessions;

/// Where the S3 operation name of a request is written, for `front::handle` to read
/// after the response (to count the request under its operation).
#[derive(Debug, Clone, Default)]
pub(super) struct OperationSlot(Arc<Mutex<Option<String>>>);

impl OperationSlot {
    pub(super) fn name(&self) -> String {
        self.0
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .unwrap_or_else(|| "Unknown".to_owned())
    }
}

/// Lets signed requests through, decides unsigned ones by the bucket's policy and
/// ACLs (`authz`), and records the operation.
#[derive(Clone)]
pub(super) struct AccessControl {
    store: eddy_store::Store,
}

impl AccessControl {
    pub(super) fn new(store: eddy_store::Store) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl S3Access for AccessControl {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let name = cx.s3_op().name().to_owned();
        if let Some(slot) = cx.extensions_mut().get::<OperationSlot>()
            && let Ok(mut guard) = slot.0.lock()
        {
            *guard = Some(name.clone());
        }
        if cx.credentials().is_some() {
            return Ok(());
        }
        let (bucket, key) = match cx.s3_path() {
            s3s::path::S3Path::Bucket { bucket } => (bucket.to_string(), None),
            s3s::path::S3Path::Object { bucket, key } => {
                (bucket.to_string(), Some(key.to_string()))
            }
            s3s::path::S3Path::Root => return Err(access_denied()),
        };
        if matches!(self.store.buckets().region(&bucket).await, Ok(None)) {
            return Err(s3s::s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        // DeleteObjects names its keys in its body, a form upload (PostObject) its key in
        // its form: decided in `delete_objects` and `post_object`.
        if name == "DeleteObjects" || name == "PostObject" {
            return Ok(());
        }
        let version_id = query_value(cx.uri(), "versionId");
        let target = Target {
            bucket: &bucket,
            key: key.as_deref(),
            version_id: version_id.as_deref(),
        };
        authorize_anonymous(&self.store, &name, target).await?;
        let source = cx
            .headers()
            .get("x-amz-copy-source")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| s3s::dto::CopySource::parse(v).ok());
        if let Some(s3s::dto::CopySource::Bucket {
            bucket,
            key,
            version_id,
        }) = source
        {
            let target = Target {
                bucket: &bucket,
                key: Some(&key),
                version_id: version_id.as_deref(),
            };
            authorize_anonymous(&self.store, "GetObject", target).await?;
        }
        Ok(())
    }

    async fn delete_objects(
        &self,
        req: &mut s3s::S3Request<s3s::dto::DeleteObjectsInput>,
    ) -> S3Result<()> {
        if req.credentials.is_some() {
            return Ok(());
        }
        // S3 decides each key by itself: a denied key is an `AccessDenied` entry of the
        // result, the others are deleted.
        let mut denied = DeniedKeys::default();
        for (index, object) in req.input.delete.objects.iter().enumerate() {
            let target = Target {
                bucket: &req.input.bucket,
                key: Some(&object.key),
                version_id: object.version_id.as_deref(),
            };
            match authorize_anonymous(&self.store, "DeleteObject", target).await {
                Ok(()) => {}
                Err(error) if *error.code() == s3s::S3ErrorCode::AccessDenied => {
                    denied.0.insert(index);
                }
                Err(error) => return Err(error),
            }
        }
        req.extensions.insert(denied);
        Ok(())
    }

    async fn post_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::PostObjectInput>,
    ) -> S3Result<()> {
        if req.credentials.is_some() {
            return Ok(());
        }
        // A form without a signed policy: allowed by a grant of `s3:PutObject` (or
        // public write) to everyone, as an anonymous PUT of its key would be.
        let target = Target {
            bucket: &req.input.bucket,
            key: Some(&req.input.key),
            version_id: None,
        };
        authorize_anonymous(&self.store, "PutObject", target).await
    }
}

/// The value of a query parameter, decoded.
fn query_value(uri: &http::Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The configured credential pairs and the temporary credentials STS issued, for
/// `s3s`'s SigV4 check. An unknown access key is `InvalidAccessKeyId`, as on S3.
#[derive(Debug, Clone, Default)]
pub(super) struct CredentialStore {
    secrets: std::collections::HashMap<String, String>,
    sessions: Arc<Sessions>,
}

impl CredentialStore {
    pub(super) fn new(credentials: &[crate::state::Credential], sessions: Arc<Sessions>) -> Self {
        Self {
            secrets: credentials
                .iter()
                .map(|c| (c.access_key_id.clone(), c.secret_access_key.clone()))
                .collect(),
            sessions,
        }
    }
}

/// Refuses, as S3 does, a request signed with temporary credentials whose session
/// token is missing or wrong (400 InvalidToken) or which have expired (400
/// ExpiredToken). `s3s` checks the signature but not the token.
pub(super) fn refuse_bad_session<B>(
    request: &http::Request<B>,
    sessions: &Sessions,
) -> Option<http::Response<s3s::Body>> {
    let query = request.uri().query().unwrap_or("");
    let key = crate::sigv4::access_key_id(request.headers(), query)?;
    sessions.get(&key)?;
    let token = crate::sigv4::security_token(request.headers(), query);
    let error = match sessions.check(&key, token.as_deref(), eddy_store::time::now_ms()) {
        Ok(_) => return None,
        Err(crate::sigv4::AuthError::ExpiredToken) => s3s::S3Error::with_message(
            s3s::S3ErrorCode::ExpiredToken,
            "The provided token has expired.",
        ),
        Err(_) => s3s::S3Error::with_message(
            s3s::S3ErrorCode::InvalidToken,
            "The provided token is malformed or otherwise invalid.",
        ),
    };
    error.to_http_response().ok()
}

tokio::task_local! {
    /// Set when `s3s` looks up a secret key while serving a request: the request (or
    /// its form) carries a signature.
    static SIGNATURE_SEEN: std::cell::Cell<bool>;
}

/// Runs `serving` (a request served by `s3s`) and tells whether the request carried a
/// signature that `s3s` checked (a secret key was looked up for it).
pub(super) async fn noting_signature<F: std::future::Future>(serving: F) -> (F::Output, bool) {
    SIGNATURE_SEEN
        .scope(std::cell::Cell::new(false), async {
            let output = serving.await;
            (output, SIGNATURE_SEEN.with(std::cell::Cell::get))
        })
        .await
}

#[async_trait::async_trait]
impl s3s::auth::S3Auth for CredentialStore {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        // Outside `noting_signature` (no request being served) there is nothing to note.
        let _ = SIGNATURE_SEEN.try_with(|seen| seen.set(true));
        if let Some(session) = self.sessions.get(access_key) {
            return Ok(s3s::auth::SecretKey::from(session.secret_access_key));
        }
        match self.secrets.get(access_key) {
            Some(secret) => Ok(s3s::auth::SecretKey::from(secret.clone())),
            None => Err(s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}
