//! eddy's S3 with the AWS CLI: `s3 mb/cp/sync/ls/rm/presign/rb` and `s3api` calls for
//! versioning, tagging, notifications and multipart, as a user would type them.

use crate::util::harness::Eddy;
use serde_json::Value;

/// Runs the CLI, asserts success, returns stdout.
fn ok(eddy: &Eddy, args: &[&str]) -> String {
    let output = eddy.aws(args);
    assert!(
        output.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn json(eddy: &Eddy, args: &[&str]) -> Value {
    let text = ok(eddy, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {args:?}: {e}: {text}"))
}

fn path(dir: &std::path::Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8 path").to_owned()
}

#[test]
fn cp_sync_ls_and_rm_recursive() {
    let eddy = Eddy::start();
    ok(&eddy, &["s3", "mb", "s3://cli-bucket"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let local = dir.path().join("tree");
    std::fs::create_dir_all(local.join("sub dir/deeper")).expect("dirs");
    let files = [
        ("a.txt", "alpha"),
        ("sub dir/b+c.txt", "bravo"),
        ("sub dir/deeper/é.txt", "echo"),
    ];
    for (name, content) in files {
        std::fs::write(local.join(name), content).expect("write");
    }
    // cp up and down, one file.
    ok(
        &eddy,
        &[
            "s3",
            "cp",
            &path(&local, "a.txt"),
            "s3://cli-bucket/single/a file.txt",
        ],
    );
    ok(
        &eddy,
        &[
            "s3",
            "cp",
            "s3://cli-bucket/single/a file.txt",
            &path(dir.path(), "back.txt"),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("back.txt")).expect("read"),
        "alpha"
    );

    // sync up: every file, then only what changed.
    let synced = ok(
        &eddy,
        &[
            "s3",
            "sync",
            local.to_str().expect("utf-8"),
            "s3://cli-bucket/tree/",
        ],
    );
    assert_eq!(synced.matches("upload:").count(), 3, "{synced}");
    let again = ok(
        &eddy,
        &[
            "s3",
            "sync",
            local.to_str().expect("utf-8"),
            "s3://cli-bucket/tree/",
        ],
    );
    assert_eq!(
        again.matches("upload:").count(),
        0,
        "nothing changed: {again}"
    );
    std::fs::write(local.join("a.txt"), "alpha, longer now").expect("rewrite");
    let changed = ok(
        &eddy,
        &[
            "s3",
            "sync",
            local.to_str().expect("utf-8"),
            "s3://cli-bucket/tree/",
        ],
    );
    assert_eq!(changed.matches("upload:").count(), 1, "{changed}");

    // ls --recursive lists every key with its size.
    let listing = ok(&eddy, &["s3", "ls", "--recursive", "s3://cli-bucket/"]);
    let mut keys: Vec<String> = listing
        .lines()
        .filter_map(|l| l.get(31..))
        .map(str::to_owned)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "single/a file.txt",
            "tree/a.txt",
            "tree/sub dir/b+c.txt",
            "tree/sub dir/deeper/é.txt"
        ],
        "{listing}"
    );
    assert!(listing.contains(" 17 tree/a.txt"), "{listing}");
    // ls without --recursive shows the folders.
    let top = ok(&eddy, &["s3", "ls", "s3://cli-bucket/tree/"]);
    assert!(top.contains("PRE sub dir/"), "{top}");

    // sync down reproduces the tree.
    let down = dir.path().join("down");
    ok(
        &eddy,
        &[
            "s3",
            "sync",
            "s3://cli-bucket/tree/",
            down.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(down.join("a.txt")).expect("a"),
        "alpha, longer now"
    );
    for (name, content) in &files[1..] {
        assert_eq!(
            &std::fs::read_to_string(down.join(name)).expect("file"),
            content
        );
    }

    // rm --recursive removes a prefix; rb refuses a non-empty bucket.
    let removed = ok(&eddy, &["s3", "rm", "--recursive", "s3://cli-bucket/tree/"]);
    assert_eq!(removed.matches("delete:").count(), 3, "{removed}");
    let left = ok(&eddy, &["s3", "ls", "--recursive", "s3://cli-bucket/"]);
    assert_eq!(left.lines().count(), 1, "{left}");
    let refused = eddy.aws(&["s3", "rb", "s3://cli-bucket"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("BucketNotEmpty"));
    ok(&eddy, &["s3", "rb", "--force", "s3://cli-bucket"]);
    let buckets = ok(&eddy, &["s3", "ls"]);
    assert!(!buckets.contains("cli-bucket"), "{buckets}");
}

#[test]
fn s3api_versioning_tagging_and_notifications() {
    let eddy = Eddy::start();
    ok(&eddy, &["s3api", "create-bucket", "--bucket", "cli-api"]);
    ok(
        &eddy,
        &[
            "s3api",
            "put-bucket-versioning",
            "--bucket",
            "cli-api",
            "--versioning-configuration",
            "Status=Enabled",
        ],
    );
    let status = json(
        &eddy,
        &["s3api", "get-bucket-versioning", "--bucket", "cli-api"],
    );
    assert_eq!(status["Status"], "Enabled");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = path(dir.path(), "f.txt");
    std::fs::write(&file, "one").expect("write");
    let first = json(
        &eddy,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "cli-api",
            "--key",
            "doc.txt",
            "--body",
            &file,
            "--tagging",
            "stage=draft",
        ],
    );
    std::fs::write(&file, "two").expect("write");
    let second = json(
        &eddy,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "cli-api",
            "--key",
            "doc.txt",
            "--body",
            &file,
        ],
    );
    let versions = json(
        &eddy,
        &["s3api", "list-object-versions", "--bucket", "cli-api"],
    );
    let ids: Vec<&str> = versions["Versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["VersionId"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            second["VersionId"].as_str().expect("id"),
            first["VersionId"].as_str().expect("id")
        ]
    );
    let tags = json(
        &eddy,
        &[
            "s3api",
            "get-object-tagging",
            "--bucket",
            "cli-api",
            "--key",
            "doc.txt",
            "--version-id",
            first["VersionId"].as_str().expect("id"),
        ],
    );
    assert_eq!(
        tags["TagSet"],
        serde_json::json!([{"Key": "stage", "Value": "draft"}])
    );
    let head = json(
        &eddy,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "cli-api",
            "--key",
            "doc.txt",
            "--version-id",
            first["VersionId"].as_str().expect("id"),
        ],
    );
    assert_eq!(head["ContentLength"], 3);

    // A notification configuration as JSON, read back, and its test event.
    ok(
        &eddy,
        &["sqs", "create-queue", "--queue-name", "cli-events"],
    );
    let config = r#"{"QueueConfigurations":[{"Id":"cli","QueueArn":"arn:aws:sqs:us-east-1:000000000000:cli-events","Events":["s3:ObjectCreated:*"],"Filter":{"Key":{"FilterRules":[{"Name":"suffix","Value":".txt"}]}}}]}"#;
    ok(
        &eddy,
        &[
            "s3api",
            "put-bucket-notification-configuration",
            "--bucket",
            "cli-api",
            "--notification-configuration",
            config,
        ],
    );
    let read_back = json(
        &eddy,
        &[
            "s3api",
            "get-bucket-notification-configuration",
            "--bucket",
            "cli-api",
        ],
    );
    assert_eq!(read_back["QueueConfigurations"][0]["Id"], "cli");
    assert_eq!(
        read_back["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"][0]["Value"],
        ".txt"
    );
    let queue_url = eddy.queue_url("cli-events");
    let received = json(
        &eddy,
        &[
            "sqs",
            "receive-message",
            "--queue-url",
            &queue_url,
            "--wait-time-seconds",
            "2",
        ],
    );
    let body: Value = serde_json::from_str(received["Messages"][0]["Body"].as_str().expect("body"))
        .expect("json body");
    assert_eq!(body["Event"], "s3:TestEvent");
    let overlapping = r#"{"QueueConfigurations":[{"QueueArn":"arn:aws:sqs:us-east-1:000000000000:cli-events","Events":["s3:ObjectCreated:*"]},{"QueueArn":"arn:aws:sqs:us-east-1:000000000000:cli-events","Events":["s3:ObjectCreated:Put"]}]}"#;
    let refused = eddy.aws(&[
        "s3api",
        "put-bucket-notification-configuration",
        "--bucket",
        "cli-api",
        "--notification-configuration",
        overlapping,
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("InvalidArgument") && stderr.contains("overlap"),
        "{stderr}"
    );
}

#[test]
fn s3api_multipart_upload_by_hand() {
    let eddy = Eddy::start();
    ok(&eddy, &["s3api", "create-bucket", "--bucket", "cli-mp"]);
    let upload = json(
        &eddy,
        &[
            "s3api",
            "create-multipart-upload",
            "--bucket",
            "cli-mp",
            "--key",
            "joined.bin",
        ],
    );
    let upload_id = upload["UploadId"].as_str().expect("upload id").to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut parts = Vec::new();
    let mut whole = Vec::new();
    for number in 1..=2 {
        let bytes = if number == 1 {
            vec![b'1'; 5 * 1024 * 1024]
        } else {
            b"last".to_vec()
        };
        whole.extend_from_slice(&bytes);
        let file = path(dir.path(), &format!("part{number}"));
        std::fs::write(&file, &bytes).expect("write part");
        let part = json(
            &eddy,
            &[
                "s3api",
                "upload-part",
                "--bucket",
                "cli-mp",
                "--key",
                "joined.bin",
                "--upload-id",
                &upload_id,
                "--part-number",
                &number.to_string(),
                "--body",
                &file,
            ],
        );
        parts.push(serde_json::json!({"PartNumber": number, "ETag": part["ETag"]}));
    }
    let listed = json(
        &eddy,
        &[
            "s3api",
            "list-parts",
            "--bucket",
            "cli-mp",
            "--key",
            "joined.bin",
            "--upload-id",
            &upload_id,
        ],
    );
    assert_eq!(listed["Parts"].as_array().map(Vec::len), Some(2));
    let uploads = json(
        &eddy,
        &["s3api", "list-multipart-uploads", "--bucket", "cli-mp"],
    );
    assert_eq!(uploads["Uploads"][0]["UploadId"], upload_id.as_str());
    let manifest = serde_json::json!({"Parts": parts}).to_string();
    let done = json(
        &eddy,
        &[
            "s3api",
            "complete-multipart-upload",
            "--bucket",
            "cli-mp",
            "--key",
            "joined.bin",
            "--upload-id",
            &upload_id,
            "--multipart-upload",
            &manifest,
        ],
    );
    assert!(done["ETag"].as_str().expect("etag").ends_with("-2\""));
    let out = path(dir.path(), "joined.out");
    ok(&eddy, &["s3", "cp", "s3://cli-mp/joined.bin", &out]);
    assert_eq!(std::fs::read(&out).expect("read"), whole);
    // The CLI presigns with SigV2 in us-east-1 unless told otherwise; both are served.
    let presigned = ok(&eddy, &["s3", "presign", "s3://cli-mp/joined.bin"]);
    let fetched = std::process::Command::new("curl")
        .args(["-s", "-f", presigned.trim()])
        .output()
        .expect("curl");
    assert!(
        fetched.status.success(),
        "presigned URL {presigned} refused"
    );
    assert_eq!(fetched.stdout, whole);
}
