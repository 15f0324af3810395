//! Unit tests of the function's record handling over an in-memory store.

use super::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// A store with objects keyed by (bucket, key) holding an eTag.
#[derive(Default)]
struct MemoryStore {
    objects: Mutex<HashMap<(String, String), String>>,
}

impl ObjectStore for MemoryStore {
    async fn copy_object(&self, request: &CopyRequest) -> Result<(), CopyError> {
        let mut objects = self.objects.lock().expect("lock");
        let Some(etag) = objects
            .get(&(request.source_bucket.clone(), request.source_key.clone()))
            .cloned()
        else {
            return Err(CopyError::SourceGone);
        };
        if request.source_etag.as_ref().is_some_and(|e| *e != etag) {
            return Err(CopyError::SourceChanged);
        }
        if request.destination_bucket == "broken" {
            return Err(CopyError::Failed("AccessDenied".into()));
        }
        objects.insert(
            (
                request.destination_bucket.clone(),
                request.destination_key.clone(),
            ),
            etag,
        );
        Ok(())
    }
}

fn event_body(key: &str, etag: &str) -> String {
    format!(
        r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{{"principalId":"p"}},"requestParameters":{{"sourceIPAddress":"127.0.0.1"}},"responseElements":{{"x-amz-request-id":"r","x-amz-id-2":"i"}},"s3":{{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{{"name":"source","ownerIdentity":{{"principalId":"p"}},"arn":"arn:aws:s3:::source"}},"object":{{"key":"{key}","size":1,"eTag":"{etag}","sequencer":"01"}}}}}}]}}"#
    )
}

fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.body = Some(body.to_owned());
    m
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

fn options(bucket: &str) -> CopyOptions {
    CopyOptions {
        destination_bucket: bucket.to_owned(),
        destination_prefix: "copied/".to_owned(),
    }
}

fn store_with(key: &str, etag: &str) -> MemoryStore {
    let store = MemoryStore::default();
    store
        .objects
        .lock()
        .expect("lock")
        .insert(("source".into(), key.into()), etag.into());
    store
}

#[tokio::test]
async fn copies_decoded_key_with_prefix() {
    let store = store_with("a b+c/ü.txt", "e1");
    let event = batch(vec![message("m1", &event_body("a+b%2Bc/%C3%BC.txt", "e1"))]);
    let response = handle_batch(&store, &options("dst"), &event).await;
    assert!(response.batch_item_failures.is_empty());
    let objects = store.objects.lock().expect("lock");
    assert_eq!(
        objects.get(&("dst".to_owned(), "copied/a b+c/ü.txt".to_owned())),
        Some(&"e1".to_owned())
    );
}

#[tokio::test]
async fn reports_only_failed_records() {
    let store = store_with("k", "e1");
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"t","Bucket":"source","RequestId":"r","HostId":"h"}"#;
    let event = batch(vec![
        message("ok", &event_body("k", "e1")),
        message("poison", "not json"),
        message("test", test_event),
        message("changed", &event_body("k", "old")),
        message("gone", &event_body("missing", "e1")),
    ]);
    let response = handle_batch(&store, &options("dst"), &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["poison"]);
}

#[tokio::test]
async fn store_failures_fail_the_record() {
    let store = store_with("k", "e1");
    let event = batch(vec![message("m", &event_body("k", "e1"))]);
    let response = handle_batch(&store, &options("broken"), &event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(response.batch_item_failures[0].item_identifier, "m");
}
