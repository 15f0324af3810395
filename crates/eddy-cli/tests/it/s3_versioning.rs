//! Bucket versioning with the AWS SDK for Rust: versioned PUT/GET/HEAD/DELETE by
//! version id, delete markers, the `null` version, suspended versioning,
//! ListObjectVersions with paging, and the events of a versioned bucket.

use crate::util::harness::{Eddy, EddyOptions};
use crate::util::s3::{
    Expected, assert_record, create_queue, notification, now_iso_millis, queue_config,
    receive_bodies,
};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::{RequestId, RequestIdExt};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

async fn set_versioning(s3: &Client, bucket: &str, status: BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("put bucket versioning");
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &str) -> Option<String> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .expect("put")
        .version_id()
        .map(str::to_owned)
}

async fn read(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<String, String> {
    match s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
    {
        Ok(output) => {
            let bytes = output.body.collect().await.expect("body").into_bytes();
            Ok(String::from_utf8(bytes.to_vec()).expect("utf-8"))
        }
        Err(error) => {
            let status = error.raw_response().map_or(0, |r| r.status().as_u16());
            let marker = error
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-delete-marker"))
                .map(str::to_owned)
                .unwrap_or_default();
            let code = error
                .into_service_error()
                .code()
                .unwrap_or_default()
                .to_owned();
            Err(format!("{status} {code} {marker}").trim().to_owned())
        }
    }
}

/// (key, version id, is latest, is delete marker) of every version, in listing order.
async fn all_versions(s3: &Client, bucket: &str) -> Vec<(String, String, bool, bool)> {
    let output = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("list object versions");
    let mut rows: Vec<(String, String, bool, bool, i64)> = Vec::new();
    for v in output.versions() {
        rows.push((
            v.key().unwrap_or_default().to_owned(),
            v.version_id().unwrap_or_default().to_owned(),
            v.is_latest().unwrap_or(false),
            false,
            v.last_modified().map_or(0, |t| t.as_nanos() as i64),
        ));
    }
    for m in output.delete_markers() {
        rows.push((
            m.key().unwrap_or_default().to_owned(),
            m.version_id().unwrap_or_default().to_owned(),
            m.is_latest().unwrap_or(false),
            true,
            m.last_modified().map_or(0, |t| t.as_nanos() as i64),
        ));
    }
    // S3 lists versions and markers in two lists; order them as one history.
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(b.4.cmp(&a.4)));
    rows.into_iter()
        .map(|(k, v, l, d, _)| (k, v, l, d))
        .collect()
}

#[tokio::test]
async fn versioned_put_get_head_and_delete_by_version_id() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("history")
        .send()
        .await
        .expect("create");
    let status = s3
        .get_bucket_versioning()
        .bucket("history")
        .send()
        .await
        .expect("get versioning");
    assert_eq!(
        status.status(),
        None,
        "a new bucket has no versioning status"
    );

    assert_eq!(
        put(&s3, "history", "doc", "v0").await,
        None,
        "unversioned PUT has no version id"
    );
    set_versioning(&s3, "history", BucketVersioningStatus::Enabled).await;
    let status = s3
        .get_bucket_versioning()
        .bucket("history")
        .send()
        .await
        .expect("get");
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));
    let v1 = put(&s3, "history", "doc", "v1").await.expect("version id");
    let v2 = put(&s3, "history", "doc", "v2").await.expect("version id");
    assert_ne!(v1, v2);

    assert_eq!(read(&s3, "history", "doc", None).await, Ok("v2".into()));
    assert_eq!(
        read(&s3, "history", "doc", Some(&v1)).await,
        Ok("v1".into())
    );
    assert_eq!(
        read(&s3, "history", "doc", Some("null")).await,
        Ok("v0".into())
    );
    assert_eq!(
        read(&s3, "history", "doc", Some("nosuchversion")).await,
        Err("404 NoSuchVersion".into())
    );
    let head = s3
        .head_object()
        .bucket("history")
        .key("doc")
        .version_id(&v1)
        .send()
        .await
        .expect("head v1");
    assert_eq!(head.version_id(), Some(v1.as_str()));
    assert_eq!(head.content_length(), Some(2));

    let deleted = s3
        .delete_object()
        .bucket("history")
        .key("doc")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().expect("marker version id").to_owned();
    assert_eq!(
        read(&s3, "history", "doc", None).await,
        Err("404 NoSuchKey true".into())
    );
    assert_eq!(
        read(&s3, "history", "doc", Some(&marker)).await,
        Err("405 MethodNotAllowed true".into())
    );
    let listed = s3
        .list_objects_v2()
        .bucket("history")
        .send()
        .await
        .expect("list");
    assert!(
        listed.contents().is_empty(),
        "a delete marker hides the key"
    );
    assert_eq!(
        all_versions(&s3, "history").await,
        vec![
            ("doc".to_owned(), marker.clone(), true, true),
            ("doc".to_owned(), v2.clone(), false, false),
            ("doc".to_owned(), v1.clone(), false, false),
            ("doc".to_owned(), "null".to_owned(), false, false),
        ]
    );

    // Removing the delete marker brings the newest version back.
    let undeleted = s3
        .delete_object()
        .bucket("history")
        .key("doc")
        .version_id(&marker)
        .send()
        .await
        .expect("delete the marker");
    assert_eq!(undeleted.delete_marker(), Some(true));
    assert_eq!(undeleted.version_id(), Some(marker.as_str()));
    assert_eq!(read(&s3, "history", "doc", None).await, Ok("v2".into()));
    // Deleting the current version for good makes the previous one current.
    s3.delete_object()
        .bucket("history")
        .key("doc")
        .version_id(&v2)
        .send()
        .await
        .expect("delete v2");
    assert_eq!(read(&s3, "history", "doc", None).await, Ok("v1".into()));
    assert_eq!(
        read(&s3, "history", "doc", Some(&v2)).await,
        Err("404 NoSuchVersion".into())
    );

    // A bucket with versions left is not empty.
    let error = s3
        .delete_bucket()
        .bucket("history")
        .send()
        .await
        .expect_err("not empty");
    assert_eq!(error.into_service_error().code(), Some("BucketNotEmpty"));
    for version in [v1.as_str(), "null"] {
        s3.delete_object()
            .bucket("history")
            .key("doc")
            .version_id(version)
            .send()
            .await
            .expect("delete version");
    }
    assert!(all_versions(&s3, "history").await.is_empty());
    s3.delete_bucket()
        .bucket("history")
        .send()
        .await
        .expect("delete the empty bucket");
}

#[tokio::test]
async fn suspended_versioning_writes_the_null_version() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("paused")
        .send()
        .await
        .expect("create");
    set_versioning(&s3, "paused", BucketVersioningStatus::Enabled).await;
    let kept = put(&s3, "paused", "k", "kept").await.expect("version id");
    set_versioning(&s3, "paused", BucketVersioningStatus::Suspended).await;
    let status = s3
        .get_bucket_versioning()
        .bucket("paused")
        .send()
        .await
        .expect("get");
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Suspended));
    put(&s3, "paused", "k", "first null").await;
    put(&s3, "paused", "k", "second null").await;
    assert_eq!(
        all_versions(&s3, "paused").await,
        vec![
            ("k".to_owned(), "null".to_owned(), true, false),
            ("k".to_owned(), kept.clone(), false, false),
        ],
        "a null version replaces the previous null version"
    );
    assert_eq!(
        read(&s3, "paused", "k", Some("null")).await,
        Ok("second null".into())
    );
    let deleted = s3
        .delete_object()
        .bucket("paused")
        .key("k")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.delete_marker(), Some(true));
    assert_eq!(deleted.version_id(), Some("null"));
    assert_eq!(
        all_versions(&s3, "paused").await,
        vec![
            ("k".to_owned(), "null".to_owned(), true, true),
            ("k".to_owned(), kept.clone(), false, false),
        ],
        "the null delete marker replaces the null version"
    );
    assert_eq!(
        read(&s3, "paused", "k", Some(&kept)).await,
        Ok("kept".into())
    );
}

#[tokio::test]
async fn list_object_versions_pages_with_key_and_version_markers() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("pages")
        .send()
        .await
        .expect("create");
    set_versioning(&s3, "pages", BucketVersioningStatus::Enabled).await;
    let mut expected = Vec::new();
    for key in ["a", "b/one", "b/two", "c"] {
        let mut ids = Vec::new();
        for round in 0..3 {
            ids.push(
                put(&s3, "pages", key, &format!("{key} {round}"))
                    .await
                    .expect("id"),
            );
        }
        ids.reverse();
        expected.extend(ids.into_iter().map(|id| (key.to_owned(), id)));
    }
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    let mut pages = 0;
    loop {
        let page = s3
            .list_object_versions()
            .bucket("pages")
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("list page");
        pages += 1;
        assert!(page.versions().len() <= 2);
        seen.extend(page.versions().iter().map(|v| {
            (
                v.key().unwrap_or_default().to_owned(),
                v.version_id().unwrap_or_default().to_owned(),
            )
        }));
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 6);
    // With a delimiter, b/ folds into one common prefix.
    let folded = s3
        .list_object_versions()
        .bucket("pages")
        .delimiter("/")
        .send()
        .await
        .expect("list with delimiter");
    let prefixes: Vec<_> = folded
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["b/"]);
    assert_eq!(folded.versions().len(), 6);
    // A prefix narrows the listing.
    let narrowed = s3
        .list_object_versions()
        .bucket("pages")
        .prefix("b/t")
        .send()
        .await
        .expect("list with prefix");
    assert_eq!(narrowed.versions().len(), 3);
    assert!(narrowed.versions().iter().all(|v| v.key() == Some("b/two")));
}

#[tokio::test]
async fn versioned_events_carry_the_version_id() {
    let eddy = Eddy::start();
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    let (url, arn) = create_queue(&sqs, "versioned-events").await;
    s3.create_bucket()
        .bucket("vevents")
        .send()
        .await
        .expect("create");
    set_versioning(&s3, "vevents", BucketVersioningStatus::Enabled).await;
    s3.put_bucket_notification_configuration()
        .bucket("vevents")
        .notification_configuration(notification(vec![queue_config(
            "versioned",
            &arn,
            &["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            None,
            None,
        )]))
        .send()
        .await
        .expect("configure");
    receive_bodies(&sqs, &url, 1).await;
    let key = "v dir/a+b.txt";
    let encoded = "v+dir/a%2Bb.txt";
    let before = now_iso_millis();
    let put = s3
        .put_object()
        .bucket("vevents")
        .key(key)
        .body(ByteStream::from_static(b"versioned"))
        .send()
        .await
        .expect("put");
    let version = put.version_id().expect("version id").to_owned();
    let etag = put.e_tag().expect("etag").trim_matches('"').to_owned();
    let created = receive_bodies(&sqs, &url, 1).await;
    let put_sequencer = assert_record(
        &created[0],
        &Expected {
            event_name: "ObjectCreated:Put",
            configuration_id: "versioned",
            bucket: "vevents",
            encoded_key: encoded,
            size: Some(9),
            etag: Some(&etag),
            version_id: Some(&version),
            request_id: put.request_id().expect("request id"),
            host_id: put.extended_request_id().expect("host id"),
        },
        &before,
    );
    let deleted = s3
        .delete_object()
        .bucket("vevents")
        .key(key)
        .send()
        .await
        .expect("delete");
    let marker = deleted.version_id().expect("marker id").to_owned();
    let removed = receive_bodies(&sqs, &url, 1).await;
    let marker_sequencer = assert_record(
        &removed[0],
        &Expected {
            event_name: "ObjectRemoved:DeleteMarkerCreated",
            configuration_id: "versioned",
            bucket: "vevents",
            encoded_key: encoded,
            size: None,
            etag: None,
            version_id: Some(&marker),
            request_id: deleted.request_id().expect("request id"),
            host_id: deleted.extended_request_id().expect("host id"),
        },
        &before,
    );
    assert!(crate::util::s3::sequencer_before(
        &put_sequencer,
        &marker_sequencer
    ));
    let purged = s3
        .delete_object()
        .bucket("vevents")
        .key(key)
        .version_id(&version)
        .send()
        .await
        .expect("delete version");
    let removed = receive_bodies(&sqs, &url, 1).await;
    assert_record(
        &removed[0],
        &Expected {
            event_name: "ObjectRemoved:Delete",
            configuration_id: "versioned",
            bucket: "vevents",
            encoded_key: encoded,
            size: None,
            etag: None,
            version_id: Some(&version),
            request_id: purged.request_id().expect("request id"),
            host_id: purged.extended_request_id().expect("host id"),
        },
        &before,
    );
}

#[tokio::test]
async fn versions_survive_a_restart() {
    let mut eddy = Eddy::process();
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("durable")
        .send()
        .await
        .expect("create");
    put(&s3, "durable", "k", "null version").await;
    set_versioning(&s3, "durable", BucketVersioningStatus::Enabled).await;
    let v1 = put(&s3, "durable", "k", "v1").await.expect("id");
    s3.delete_object()
        .bucket("durable")
        .key("k")
        .send()
        .await
        .expect("delete");
    let temp = eddy.take_temp();
    assert_eq!(eddy.terminate(), Some(0));
    let data_dir = eddy.data_dir.clone();
    drop(eddy);
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let s3 = eddy.s3().await;
    assert_eq!(
        read(&s3, "durable", "k", None).await,
        Err("404 NoSuchKey true".into())
    );
    assert_eq!(read(&s3, "durable", "k", Some(&v1)).await, Ok("v1".into()));
    assert_eq!(
        read(&s3, "durable", "k", Some("null")).await,
        Ok("null version".into())
    );
    drop(temp);
}
