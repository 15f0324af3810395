//! S3 error bodies with the elements S3 writes beyond Code and Message: the failed
//! `<Condition>` of a 412, the `<BucketName>`, `<Key>`, `<VersionId>` and `<UploadId>`
//! of what was not found, the `<ArgumentName>`/`<ArgumentValue>` of an invalid
//! argument, and anonymous requests for a bucket that does not exist.

use eddy_testing::raw::xml_all;
use eddy_testing::sign::Service;

use crate::util::harness::Eddy;
use crate::util::raw::{RawResponse, authority, send, send_signed};
use crate::util::s3::{bucket, put};

fn element(response: &RawResponse, name: &str) -> Option<String> {
    xml_all(&response.body, name).into_iter().next()
}

fn get(eddy: &Eddy, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    send_signed(Service::S3, &eddy.endpoint, "GET", path, headers, b"")
}

/// A conditional request: its method, its headers, and the condition that fails.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test]
async fn precondition_failures_name_their_condition() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "conditions").await;
    put(&s3, "conditions", "k", b"v").await;
    let cases: &[Case<'_>] = &[
        ("GET", &[("if-match", "\"nope\"")], "If-Match"),
        (
            "GET",
            &[("if-unmodified-since", "Wed, 21 Oct 2015 07:28:00 GMT")],
            "If-Unmodified-Since",
        ),
        ("PUT", &[("if-none-match", "*")], "If-None-Match"),
        ("PUT", &[("if-match", "\"nope\"")], "If-Match"),
    ];
    for (method, headers, condition) in cases {
        let answer = send_signed(
            Service::S3,
            &eddy.endpoint,
            method,
            "/conditions/k",
            headers,
            b"new",
        );
        assert_eq!(answer.status, 412, "{method} {headers:?}: {}", answer.body);
        assert_eq!(
            element(&answer, "Code").as_deref(),
            Some("PreconditionFailed")
        );
        assert_eq!(
            element(&answer, "Condition").as_deref(),
            Some(*condition),
            "{}",
            answer.body
        );
        assert!(element(&answer, "RequestId").is_some());
    }
    let copy = send_signed(
        Service::S3,
        &eddy.endpoint,
        "PUT",
        "/conditions/copy",
        &[
            ("x-amz-copy-source", "/conditions/k"),
            ("x-amz-copy-source-if-match", "\"nope\""),
        ],
        b"",
    );
    assert_eq!(copy.status, 412, "{}", copy.body);
    assert_eq!(
        element(&copy, "Condition").as_deref(),
        Some("x-amz-copy-source-If-Match")
    );
}

#[tokio::test]
async fn not_found_errors_name_what_was_not_found() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "present").await;
    put(&s3, "present", "k", b"v").await;

    let answer = get(&eddy, "/absent-bucket/k", &[]);
    assert_eq!(answer.status, 404);
    assert_eq!(element(&answer, "Code").as_deref(), Some("NoSuchBucket"));
    assert_eq!(
        element(&answer, "BucketName").as_deref(),
        Some("absent-bucket")
    );
    // The elements follow the message, before the request ids, as S3 writes them.
    let at = |name: &str| answer.body.find(&format!("<{name}>")).expect(name);
    assert!(at("Message") < at("BucketName") && at("BucketName") < at("RequestId"));

    let answer = get(&eddy, "/present/no%20such%2Bkey", &[]);
    assert_eq!(answer.status, 404);
    assert_eq!(element(&answer, "Code").as_deref(), Some("NoSuchKey"));
    assert_eq!(element(&answer, "Key").as_deref(), Some("no such+key"));

    let answer = get(
        &eddy,
        "/present/k?versionId=3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY",
        &[],
    );
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(element(&answer, "Code").as_deref(), Some("NoSuchVersion"));
    assert_eq!(element(&answer, "Key").as_deref(), Some("k"));
    assert_eq!(
        element(&answer, "VersionId").as_deref(),
        Some("3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
    );

    let answer = get(&eddy, "/present/k?uploadId=no-such-upload", &[]);
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(element(&answer, "Code").as_deref(), Some("NoSuchUpload"));
    assert_eq!(
        element(&answer, "UploadId").as_deref(),
        Some("no-such-upload")
    );

    let answer = get(&eddy, "/present?tagging", &[]);
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(element(&answer, "Code").as_deref(), Some("NoSuchTagSet"));
    assert_eq!(element(&answer, "BucketName").as_deref(), Some("present"));

    let answer = send_signed(Service::S3, &eddy.endpoint, "DELETE", "/present", &[], b"");
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(element(&answer, "Code").as_deref(), Some("BucketNotEmpty"));
    assert_eq!(element(&answer, "BucketName").as_deref(), Some("present"));
}

#[tokio::test]
async fn invalid_arguments_name_the_argument() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "args").await;
    put(&s3, "args", "k", b"v").await;
    let answer = get(&eddy, "/args?list-type=2&max-keys=-1", &[]);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(element(&answer, "Code").as_deref(), Some("InvalidArgument"));
    assert_eq!(element(&answer, "ArgumentName").as_deref(), Some("maxKeys"));
    assert_eq!(element(&answer, "ArgumentValue").as_deref(), Some("-1"));
    let answer = get(
        &eddy,
        "/args/k",
        &[("x-amz-server-side-encryption", "AES256")],
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        element(&answer, "ArgumentName").as_deref(),
        Some("x-amz-server-side-encryption")
    );
    assert_eq!(element(&answer, "ArgumentValue").as_deref(), Some("AES256"));
}

#[tokio::test]
async fn anonymous_requests_for_a_missing_bucket_are_not_found() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "private").await;
    put(&s3, "private", "k", b"v").await;
    let host = vec![("host".to_owned(), authority(&eddy.endpoint))];
    let missing = send(&eddy.endpoint, "GET", "/no-such-bucket/k", &host, b"");
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(element(&missing, "Code").as_deref(), Some("NoSuchBucket"));
    assert_eq!(
        element(&missing, "BucketName").as_deref(),
        Some("no-such-bucket")
    );
    // A bucket that exists is private: its keys, there or not, are denied.
    for path in ["/private/k", "/private/absent", "/private"] {
        let denied = send(&eddy.endpoint, "GET", path, &host, b"");
        assert_eq!(denied.status, 403, "{path}: {}", denied.body);
        assert_eq!(element(&denied, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            element(&denied, "Message").as_deref(),
            Some("Access Denied")
        );
    }
}
