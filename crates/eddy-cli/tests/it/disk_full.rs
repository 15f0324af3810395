//! Disk full: eddy's data dir on a 40 MiB tmpfs. Uploads go on until one fails; that
//! one gets S3's "try again" error (503 ServiceUnavailable) and leaves nothing visible,
//! SendMessage fails cleanly too, reads keep working, and once the tmpfs grows writes
//! succeed again. Needs root for `mount`; skips with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::harness::{Eddy, EddyOptions};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

/// A mounted tmpfs, unmounted when dropped (also when the test fails).
struct TmpfsMount {
    dir: PathBuf,
}

impl TmpfsMount {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?;
        status.success().then(|| Self {
            dir: dir.to_owned(),
        })
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .expect("remount");
        assert!(status.success(), "remount to {size} failed");
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_keeps_reads_and_recovers() {
    if !is_root() {
        eprintln!("SKIPPED disk_full: not root, cannot mount a tmpfs");
        return;
    }
    let temp = tempfile::tempdir().expect("temp dir");
    let mount_point = temp.path().join("tmpfs");
    let Some(mount) = TmpfsMount::mount(&mount_point, "40m") else {
        eprintln!("SKIPPED disk_full: mounting a tmpfs failed (no privilege in this container?)");
        return;
    };
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(mount_point.join("data")),
    });
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client())
        .endpoint_url(&eddy.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test",
            "test",
            None,
            None,
            "disk-full",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let s3 = crate::util::harness::path_style_s3(&shared);
    let sqs = aws_sdk_sqs::Client::new(&shared);
    let queue_url = eddy.queue_url("file-events-dlq");

    // A bucket without notifications, so the pipeline does not copy what fills it.
    s3.create_bucket()
        .bucket("fill")
        .send()
        .await
        .expect("create bucket");
    s3.put_object()
        .bucket("fill")
        .key("before")
        .body(ByteStream::from(b"written before the disk filled".to_vec()))
        .send()
        .await
        .expect("put before");
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("sent before the disk filled")
        .send()
        .await
        .expect("send before");

    let chunk = vec![7u8; 1024 * 1024];
    let mut stored = 0;
    let mut failure = None;
    for i in 0..100 {
        let key = format!("fill-{i}");
        match s3
            .put_object()
            .bucket("fill")
            .key(&key)
            .body(ByteStream::from(chunk.clone()))
            .send()
            .await
        {
            Ok(_) => stored += 1,
            Err(error) => {
                failure = Some((key, error));
                break;
            }
        }
    }
    let (failed_key, error) = failure.expect("a 40 MiB tmpfs fills up within 100 MiB");
    let raw = error.raw_response().map(|r| r.status().as_u16());
    println!(
        "disk full after {stored} MiB: {:?} {:?} {:?}",
        raw,
        error.code(),
        error.message()
    );
    assert_eq!(raw, Some(503), "{error:?}");
    assert_eq!(error.code(), Some("ServiceUnavailable"), "{error:?}");
    assert!(
        s3.head_object()
            .bucket("fill")
            .key(&failed_key)
            .send()
            .await
            .is_err(),
        "the failed upload must not be visible"
    );
    let listed = s3
        .list_objects_v2()
        .bucket("fill")
        .send()
        .await
        .expect("list while full");
    assert_eq!(
        listed.key_count(),
        Some(stored + 1),
        "only acknowledged objects are listed"
    );

    // SQS: fill the rest with large messages until a send fails.
    let big = "m".repeat(250_000);
    let mut send_failure = None;
    for _ in 0..200 {
        if let Err(error) = sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(&big)
            .send()
            .await
        {
            send_failure = Some(error);
            break;
        }
    }
    let send_error = send_failure.expect("a send fails on a full disk");
    let status = send_error.raw_response().map(|r| r.status().as_u16());
    println!(
        "SendMessage on a full disk: {status:?} {:?} {:?}",
        send_error.code(),
        send_error.message()
    );
    assert!(matches!(status, Some(500..=503)), "{send_error:?}");

    // Reads keep working.
    let before = crate::util::harness::get_bytes(&s3, "fill", "before")
        .await
        .expect("GET while full");
    assert_eq!(before.0, b"written before the disk filled");
    let first = crate::util::harness::get_bytes(&s3, "fill", "fill-0")
        .await
        .expect("GET while full");
    assert_eq!(first.0.len(), chunk.len());
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(1)
        .send()
        .await
        .expect("ReceiveMessage while full");
    assert_eq!(
        received.messages().len(),
        1,
        "the message sent before is received"
    );
    assert_eq!(
        received.messages()[0].body(),
        Some("sent before the disk filled")
    );

    // Space returns: writes succeed again.
    mount.resize("200m");
    s3.put_object()
        .bucket("fill")
        .key(&failed_key)
        .body(ByteStream::from(chunk.clone()))
        .send()
        .await
        .expect("put after space returned");
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("sent after space returned")
        .send()
        .await
        .expect("send after space returned");
    assert_eq!(
        crate::util::harness::get_bytes(&s3, "fill", &failed_key)
            .await
            .expect("GET after space returned")
            .0
            .len(),
        chunk.len()
    );
    assert!(
        !eddy.log().contains("panicked"),
        "eddy panicked:\n{}",
        eddy.log()
    );
    drop(eddy);
    drop(mount);
}
