//! Tests of the store as a whole: opening old data directories, and the life of
//! inline blobs through writes, copies, deletes and versions.

use std::path::Path;

use super::*;
use crate::s3::{ChangeContext, ObjectAttrs, ObjectMeta, S3Error, Versioning};

fn settings() -> StoreSettings {
    StoreSettings {
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        access_key_id: "test".into(),
    }
}

/// A data directory written before versioning existed opens, keeps its objects
/// as `null` versions, and opens again unchanged.
#[test]
fn upgrades_a_data_dir_from_before_versioning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("eddy.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db_path).expect("open");
        conn.execute_batch(
            "CREATE TABLE buckets (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
                 region TEXT NOT NULL, notification TEXT NOT NULL DEFAULT '[]');
             CREATE TABLE objects (bucket TEXT NOT NULL REFERENCES buckets(name),
                 key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
                 etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, attrs TEXT NOT NULL,
                 PRIMARY KEY (bucket, key)) WITHOUT ROWID;
             INSERT INTO buckets VALUES ('old', 1, 'us-east-1', '[]');
             INSERT INTO objects VALUES ('old', 'k', 'blob1', 3, 'e', 2, '{}');",
        )
        .expect("old schema");
    }
    std::fs::create_dir_all(dir.path().join("blobs")).expect("blobs dir");
    std::fs::write(dir.path().join("blobs/blob1"), b"abc").expect("blob");
    for _ in 0..2 {
        let store = Store::open(dir.path(), settings(), Default::default()).expect("open store");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let meta = runtime
            .block_on(store.objects().get_version("old", "k", Some("null")))
            .expect("the old object is the null version");
        assert_eq!((meta.size, meta.version_id), (3, None));
        assert!(
            dir.path().join("blobs/blob1").exists(),
            "recovery kept the blob"
        );
        let versioning = runtime
            .block_on(store.buckets().versioning("old"))
            .expect("versioning");
        assert_eq!(versioning, Versioning::Unversioned);
        store.close();
    }
}

fn context() -> ChangeContext {
    ChangeContext {
        request_id: "r".into(),
        host_id: "h".into(),
        source_ip: "127.0.0.1".into(),
        ..ChangeContext::default()
    }
}

/// Stores `len` bytes of `fill` as `bucket/key` (inline when small enough).
async fn put_bytes(
    store: &Store,
    bucket: &str,
    key: &str,
    fill: u8,
    len: usize,
) -> Result<ObjectMeta, S3Error> {
    let body =
        futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![fill; len]))]);
    let staged = store
        .blobs()
        .stage(body, u64::MAX, blobs::Placement::InlineIfSmall)
        .await
        .expect("stage");
    store
        .objects()
        .put(
            bucket,
            key,
            staged,
            ObjectAttrs::default(),
            "s3:ObjectCreated:Put",
            context(),
        )
        .await
}

async fn put(store: &Store, key: &str, len: usize) -> ObjectMeta {
    put_bytes(store, "b", key, 7, len).await.expect("put")
}

fn inline_rows(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("eddy.sqlite3")).expect("open");
    conn.query_row("SELECT COUNT(*) FROM inline_blobs", [], |row| row.get(0))
        .expect("count")
}

async fn read_all(store: &Store, meta: &ObjectMeta) -> Vec<u8> {
    use futures::TryStreamExt;
    let content = store
        .objects()
        .open_blob(&meta.blob)
        .await
        .expect("open blob");
    let chunks: Vec<bytes::Bytes> = content
        .into_stream(0, meta.size)
        .await
        .expect("stream")
        .try_collect()
        .await
        .expect("read");
    chunks.concat()
}

/// Small bodies live in the database, larger ones in files; an inline blob is
/// stored, copied and removed in the transactions of the rows that name it.
#[test]
fn inline_blobs_live_exactly_as_long_as_their_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::open(dir.path(), settings(), Default::default()).expect("open store");
    runtime.block_on(async {
        store.buckets().create("b").await.expect("bucket");
        let small = put(&store, "small", blobs::INLINE_MAX).await;
        let large = put(&store, "large", blobs::INLINE_MAX + 1).await;
        assert!(blobs::is_inline(&small.blob), "{}", small.blob);
        assert!(!blobs::is_inline(&large.blob), "{}", large.blob);
        assert!(store.blobs().path(&large.blob).exists());
        assert!(!store.blobs().path(&small.blob).exists());
        assert_eq!(read_all(&store, &small).await, vec![7u8; blobs::INLINE_MAX]);
        assert_eq!(inline_rows(dir.path()), 1);

        let copy = store
            .objects()
            .copy(("b", "small"), None, ("b", "copy"), None, context())
            .await
            .expect("copy");
        assert!(blobs::is_inline(&copy.blob) && copy.blob != small.blob);
        assert_eq!(inline_rows(dir.path()), 2);
        // Replacing the source drops its old bytes; the copy keeps its own.
        put(&store, "small", 10).await;
        assert_eq!(inline_rows(dir.path()), 2);
        assert_eq!(read_all(&store, &copy).await, vec![7u8; blobs::INLINE_MAX]);
        store
            .objects()
            .delete("b", "copy", context())
            .await
            .expect("delete");
        assert_eq!(inline_rows(dir.path()), 1);
        // A copy whose source vanished meanwhile is refused and stores nothing.
        let gone = store
            .objects()
            .copy_version(&small, true, ("b", "late"), None, context())
            .await
            .expect_err("the source's bytes are gone");
        assert!(matches!(gone, S3Error::PreconditionFailed), "{gone:?}");
        assert_eq!(inline_rows(dir.path()), 1);
        // A copy onto itself (a metadata change) keeps the bytes, under a new id.
        let before = store.objects().get("b", "small").await.expect("small");
        let itself = store
            .objects()
            .copy(("b", "small"), None, ("b", "small"), None, context())
            .await
            .expect("copy onto itself");
        assert_ne!(itself.blob, before.blob);
        assert_eq!(read_all(&store, &itself).await, vec![7u8; 10]);
        assert_eq!(inline_rows(dir.path()), 1);
        // A refused write (no such bucket) leaves no bytes behind.
        let refused = put_bytes(&store, "missing", "k", 1, 1)
            .await
            .expect_err("no such bucket");
        assert!(matches!(refused, S3Error::NoSuchBucket), "{refused:?}");
        assert_eq!(inline_rows(dir.path()), 1);
        // In a versioned bucket older versions keep their bytes until deleted.
        store.buckets().create("v").await.expect("bucket v");
        store
            .buckets()
            .set_versioning("v", true)
            .await
            .expect("versioning");
        let mut versions = Vec::new();
        for len in [5, 6] {
            let meta = put_bytes(&store, "v", "k", 1, len)
                .await
                .expect("put version");
            versions.push(meta.version_id.expect("a version id"));
        }
        assert_eq!(inline_rows(dir.path()), 3);
        store
            .objects()
            .delete_version("v", "k", Some(&versions[0]), context())
            .await
            .expect("delete the first version");
        assert_eq!(inline_rows(dir.path()), 2);
    });
    store.close();
    // After a restart the small object is still there, whole.
    let store = Store::open(dir.path(), settings(), Default::default()).expect("reopen");
    runtime.block_on(async {
        let meta = store.objects().get("b", "small").await.expect("small");
        assert_eq!(read_all(&store, &meta).await, vec![7u8; 10]);
    });
    assert_eq!(inline_rows(dir.path()), 2);
    store.close();
}

/// Bucket configurations: stored and replaced, listed by id, a remembered removal for
/// the kinds with a default, durable across a reopen, and gone with their bucket.
#[test]
fn bucket_configurations_live_and_die_with_their_bucket() {
    use crate::s3::{Config, ConfigKind, NewBucket};
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Store::open(dir.path(), settings(), Default::default()).expect("open");
        let configs = store.bucket_configs();
        assert!(matches!(
            configs.get("none", ConfigKind::Cors, "").await,
            Err(S3Error::NoSuchBucket)
        ));
        store
            .buckets()
            .create_with(
                "b",
                NewBucket {
                    region: Some("eu-west-1".into()),
                    tags: Some([("team".to_owned(), "data".to_owned())].into()),
                    versioning_enabled: true,
                    configs: vec![(ConfigKind::ObjectLock, "<lock/>".into())],
                },
            )
            .await
            .expect("create");
        assert_eq!(
            store.buckets().versioning("b").await.expect("versioning"),
            Versioning::Enabled
        );
        // The bucket keeps the region it was created for (cached and stored alike).
        assert_eq!(
            store
                .buckets()
                .region("b")
                .await
                .expect("region")
                .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            store.buckets().get("b").await.expect("get").region,
            "eu-west-1"
        );
        assert_eq!(store.buckets().region("nope").await.expect("region"), None);
        let tags = store
            .buckets()
            .tags("b")
            .await
            .expect("tags")
            .expect("some");
        assert_eq!(tags.get("team").map(String::as_str), Some("data"));
        assert_eq!(
            configs
                .get("b", ConfigKind::ObjectLock, "")
                .await
                .expect("get"),
            Config::Set("<lock/>".into())
        );
        assert_eq!(
            configs.get("b", ConfigKind::Cors, "").await.expect("get"),
            Config::Unset
        );
        configs
            .put("b", ConfigKind::Cors, "", "<a/>".into())
            .await
            .expect("put");
        configs
            .put("b", ConfigKind::Cors, "", "<b/>".into())
            .await
            .expect("replace");
        for id in ["z", "a"] {
            configs
                .put("b", ConfigKind::Metrics, id, format!("<{id}/>"))
                .await
                .expect("put keyed");
        }
        assert!(
            configs
                .delete("b", ConfigKind::Ownership, "")
                .await
                .is_ok_and(|had| !had)
        );
        assert!(
            configs
                .delete("b", ConfigKind::Website, "")
                .await
                .is_ok_and(|had| !had)
        );
        store.close();

        let store = Store::open(dir.path(), settings(), Default::default()).expect("reopen");
        let configs = store.bucket_configs();
        assert_eq!(
            configs.get("b", ConfigKind::Cors, "").await.expect("get"),
            Config::Set("<b/>".into())
        );
        assert_eq!(
            configs.list("b", ConfigKind::Metrics).await.expect("list"),
            vec![
                ("a".to_owned(), "<a/>".to_owned()),
                ("z".to_owned(), "<z/>".to_owned())
            ]
        );
        assert_eq!(
            configs
                .get("b", ConfigKind::Ownership, "")
                .await
                .expect("get"),
            Config::Removed
        );
        assert_eq!(
            configs
                .get("b", ConfigKind::Website, "")
                .await
                .expect("get"),
            Config::Unset
        );
        store.buckets().delete("b").await.expect("delete bucket");
        store.buckets().create("b").await.expect("create again");
        assert_eq!(
            configs.get("b", ConfigKind::Cors, "").await.expect("get"),
            Config::Unset
        );
        assert!(
            configs
                .list("b", ConfigKind::Metrics)
                .await
                .expect("list")
                .is_empty()
        );
        store.close();
    });
}

/// Puts an archived (GLACIER) object `key` in bucket `b` and restores it for a day,
/// readable `delay_ms` from now.
async fn put_and_restore(store: &Store, key: &str, delay_ms: u64) {
    let staged = store
        .blobs()
        .stage(
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))]),
            u64::MAX,
            blobs::Placement::InlineIfSmall,
        )
        .await
        .expect("stage");
    let attrs = ObjectAttrs {
        storage_class: Some("GLACIER".into()),
        ..ObjectAttrs::default()
    };
    let objects = store.objects();
    objects
        .put("b", key, staged, attrs, "s3:ObjectCreated:Put", context())
        .await
        .expect("put");
    objects
        .restore("b", key, None, 1, delay_ms, context())
        .await
        .expect("restore");
}

/// Restores the sweep at `at_ms` completes.
async fn completed_by(store: &Store, at_ms: u64) -> usize {
    store
        .objects()
        .complete_restores(at_ms, context)
        .await
        .expect("sweep")
}

/// The restore sweep completes a restore once it is due, and once only; a reopened
/// store finds the restores still due.
#[test]
fn restores_complete_when_due_once_and_after_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = crate::time::now_ms();
    let store = Store::open(dir.path(), settings(), Default::default()).expect("open store");
    runtime.block_on(async {
        store.buckets().create("b").await.expect("bucket");
        assert_eq!(completed_by(&store, now).await, 0);
        put_and_restore(&store, "k", 60_000).await;
        assert_eq!(completed_by(&store, now + 1_000).await, 0);
        assert_eq!(completed_by(&store, now + 120_000).await, 1);
        assert_eq!(completed_by(&store, now + 240_000).await, 0);
        put_and_restore(&store, "k2", 60_000).await;
    });
    store.close();
    let store = Store::open(dir.path(), settings(), Default::default()).expect("reopen");
    runtime.block_on(async {
        assert_eq!(completed_by(&store, now + 1_000).await, 0);
        assert_eq!(completed_by(&store, now + 120_000).await, 1);
    });
    store.close();
}
