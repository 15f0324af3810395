//! The copy function's [`ObjectStore`] over this engine: a copy is a hard link of the
//! immutable object file, conditioned on the event's eTag.

use eddy_function::{CopyError, CopyRequest, ObjectStore};

use crate::Engine;
use crate::notify::ChangeContext;
use crate::objects::S3Error;

/// The engine seen as the function's object store.
#[derive(Clone)]
pub struct LocalStore {
    engine: Engine,
}

impl LocalStore {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

impl ObjectStore for LocalStore {
    async fn copy_object(&self, request: &CopyRequest) -> Result<(), CopyError> {
        let context = ChangeContext {
            request_id: crate::ids::random_uuid()
                .simple()
                .to_string()
                .to_uppercase()[..16]
                .to_owned(),
            host_id: "eddy-function".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
        };
        let result = self
            .engine
            .copy_object(
                (&request.source_bucket, &request.source_key),
                request.source_etag.as_deref(),
                (&request.destination_bucket, &request.destination_key),
                None,
                context,
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(S3Error::PreconditionFailed) => Err(CopyError::SourceChanged),
            Err(S3Error::NoSuchKey) => Err(CopyError::SourceGone),
            Err(S3Error::NoSuchBucket) => {
                // Which bucket is missing decides: a gone source is nothing to do.
                match self.engine.get_bucket(&request.source_bucket).await {
                    Err(S3Error::NoSuchBucket) => Err(CopyError::SourceGone),
                    _ => Err(CopyError::Failed(format!(
                        "destination bucket {} does not exist",
                        request.destination_bucket
                    ))),
                }
            }
            Err(other) => Err(CopyError::Failed(other.to_string())),
        }
    }
}
