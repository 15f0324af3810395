//! The built-in copy function: `eddy-function`'s batch handler run in-process over the
//! store. A copy is a hard link of the immutable object file (or, for a small object, a
//! new row with the same bytes), conditioned on the event's eTag.
//!
//! It writes through the store, not over HTTP, so it asks the S3 faults on demand
//! itself ([`eddy_faults::Faults::copy_into`]) what a `CopyObject` request to the
//! destination bucket would meet: latency delays the copy, and `503 SlowDown` or
//! `500 InternalError` fails its record, as the same error from S3 fails the record
//! of the copy function deployed as a Lambda function.

use std::time::Duration;

use eddy_events::lambda::SqsEvent;
use eddy_function::{CopyError, CopyOptions, CopyRequest, ObjectStore, process_batch};
use eddy_store::Store;
use eddy_store::s3::{ChangeContext, S3Error};
use futures::future::BoxFuture;

use crate::function::{Function, InvokeError};

/// The store seen as the copy function's object store.
#[derive(Clone)]
pub struct StoreObjects {
    store: Store,
}

impl StoreObjects {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl ObjectStore for StoreObjects {
    async fn copy_object(&self, request: &CopyRequest) -> Result<(), CopyError> {
        let faults = self.store.faults().copy_into(
            (request.source_bucket.as_str(), request.source_key.as_str()),
            (
                request.destination_bucket.as_str(),
                request.destination_key.as_str(),
            ),
        );
        if let Some(latency) = faults.latency {
            tokio::time::sleep(latency).await;
        }
        if let Some(error) = faults.error {
            return Err(CopyError::Failed(format!(
                "{}: {}",
                error.code(),
                error.message()
            )));
        }
        let context = ChangeContext {
            request_id: eddy_store::ids::random_uuid()
                .simple()
                .to_string()
                .to_uppercase()[..16]
                .to_owned(),
            host_id: "eddy-function".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            ..ChangeContext::default()
        };
        let result = self
            .store
            .objects()
            .copy(
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
                match self.store.buckets().get(&request.source_bucket).await {
                    Err(S3Error::NoSuchBucket) => Err(CopyError::SourceGone),
                    _ => Err(CopyError::Failed(format!(
                        "destination bucket {} does not exist",
                        request.destination_bucket
                    ))),
                }
            }
            Err(other) => Err(CopyError::Failed(eddy_store::error::report(&other))),
        }
    }
}

/// The built-in copy function over the store.
pub struct BuiltinCopyFunction {
    name: String,
    objects: StoreObjects,
    options: CopyOptions,
}

impl BuiltinCopyFunction {
    pub fn new(name: String, store: Store, options: CopyOptions) -> Self {
        Self {
            name,
            objects: StoreObjects::new(store),
            options,
        }
    }
}

impl Function for BuiltinCopyFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn invoke(
        &self,
        event: SqsEvent,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<serde_json::Value, InvokeError>> {
        let objects = self.objects.clone();
        let options = self.options.clone();
        Box::pin(async move {
            let reports = tokio::time::timeout(timeout, process_batch(&objects, &options, &event))
                .await
                .map_err(|_| InvokeError::Timeout(timeout))?;
            let response = eddy_events::lambda::batch_response(
                reports
                    .into_iter()
                    .filter(eddy_function::MessageReport::failed)
                    .map(|r| r.message_id),
            );
            serde_json::to_value(response).map_err(|e| InvokeError::Function {
                error_type: "Runtime.SerializationError".into(),
                message: e.to_string(),
            })
        })
    }
}
