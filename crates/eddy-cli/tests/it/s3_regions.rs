//! S3 in every region: buckets created for a region live there (across restarts),
//! clients of any region work end to end, in every host form (`s3.localhost`,
//! `s3.<region>.localhost`, `<bucket>.s3.localhost`, `<bucket>.s3.<region>.localhost`),
//! and requests signed for the wrong region are answered as S3 answers them.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use eddy_testing::sign::{Location, Payload, Service, Signer};

use crate::util::harness::{Eddy, EddyOptions};
use crate::util::raw::{RawResponse, send};
use crate::util::s3::{LoopbackHosts, bytes_of, failure};

/// An S3 client signing for `region`; `host` (`None`: path-style on eddy's endpoint)
/// is the endpoint host the SDK addresses virtual-hosted style, its requests reaching
/// 127.0.0.1 with their Host header kept.
pub(crate) async fn client(eddy: &Eddy, region: &str, host: Option<&str>) -> Client {
    let port = port(eddy);
    let shared = eddy.sdk_config().await;
    let builder = aws_sdk_s3::config::Builder::from(&shared).region(Region::new(region.to_owned()));
    let config = match host {
        None => builder.force_path_style(true).build(),
        Some(host) => builder
            .endpoint_url(format!("http://{host}:{port}"))
            .force_path_style(false)
            .interceptor(LoopbackHosts)
            .build(),
    };
    Client::from_conf(config)
}

fn port(eddy: &Eddy) -> &str {
    eddy.endpoint.rsplit(':').next().expect("port")
}

pub(crate) fn constraint(region: &str) -> CreateBucketConfiguration {
    CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::from(region))
        .build()
}

/// A request signed for `region` with `host` as its Host header, sent to eddy.
fn signed(eddy: &Eddy, region: &str, method: &str, host: &str, path: &str) -> RawResponse {
    let url = format!("http://{host}{path}");
    let headers = vec![("host".to_owned(), host.to_owned())];
    let signed = Signer::default()
        .in_region(region)
        .sign_parts(
            Service::S3,
            method,
            &url,
            &headers,
            Payload::Bytes(b""),
            Location::Headers,
        )
        .expect("sign");
    send(&eddy.endpoint, method, path, &signed.headers, b"")
}

fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(&body[start..end])
}

#[tokio::test]
async fn another_region_round_trip_and_restart() {
    let mut eddy = Eddy::process();
    let s3 = client(&eddy, "eu-west-1", None).await;
    let created = s3
        .create_bucket()
        .bucket("irish")
        .create_bucket_configuration(constraint("eu-west-1"))
        .send()
        .await
        .expect("create in eu-west-1");
    assert_eq!(
        created.location(),
        Some(format!("http://irish.s3.localhost:{}/", port(&eddy)).as_str())
    );
    s3.put_object()
        .bucket("irish")
        .key("a/b.txt")
        .body(ByteStream::from_static(b"dia duit"))
        .send()
        .await
        .expect("put");
    let got = s3
        .get_object()
        .bucket("irish")
        .key("a/b.txt")
        .send()
        .await
        .expect("get");
    assert_eq!(bytes_of(got).await, b"dia duit");
    let listed = s3
        .list_objects_v2()
        .bucket("irish")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.contents()[0].key(), Some("a/b.txt"));
    let head = s3.head_bucket().bucket("irish").send().await.expect("head");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    let location = s3
        .get_bucket_location()
        .bucket("irish")
        .send()
        .await
        .expect("location");
    assert_eq!(
        location
            .location_constraint()
            .map(BucketLocationConstraint::as_str),
        Some("eu-west-1")
    );
    // A us-east-1 bucket answers GetBucketLocation with an empty constraint.
    let east = client(&eddy, "us-east-1", None).await;
    east.create_bucket()
        .bucket("virginia")
        .send()
        .await
        .expect("create");
    let location = east
        .get_bucket_location()
        .bucket("virginia")
        .send()
        .await
        .expect("location");
    assert_eq!(
        location.location_constraint().map_or("", |c| c.as_str()),
        ""
    );
    // Every region lists every bucket with its region.
    let buckets = s3.list_buckets().send().await.expect("list buckets");
    let regions: Vec<_> = buckets
        .buckets()
        .iter()
        .map(|b| (b.name().unwrap_or(""), b.bucket_region().unwrap_or("")))
        .collect();
    // `source` and `destination` are the buckets of eddy's default configuration.
    assert_eq!(
        regions,
        [
            ("destination", "us-east-1"),
            ("irish", "eu-west-1"),
            ("source", "us-east-1"),
            ("virginia", "us-east-1")
        ]
    );
    let only_irish = east
        .list_buckets()
        .bucket_region("eu-west-1")
        .send()
        .await
        .expect("list by region");
    assert_eq!(only_irish.buckets().len(), 1);

    // The region is durable.
    eddy.terminate();
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    drop(eddy);
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let s3 = client(&eddy, "eu-west-1", None).await;
    let head = s3.head_bucket().bucket("irish").send().await.expect("head");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    let got = s3
        .get_object()
        .bucket("irish")
        .key("a/b.txt")
        .send()
        .await
        .expect("get after restart");
    assert_eq!(bytes_of(got).await, b"dia duit");
    let east = client(&eddy, "us-east-1", None).await;
    let error = east
        .get_object()
        .bucket("irish")
        .key("a/b.txt")
        .send()
        .await
        .expect_err("wrong region after restart");
    assert_eq!(failure(error), ("PermanentRedirect".to_owned(), 301));
    s3.delete_object()
        .bucket("irish")
        .key("a/b.txt")
        .send()
        .await
        .expect("delete object");
    s3.delete_bucket()
        .bucket("irish")
        .send()
        .await
        .expect("delete bucket");
    drop(temp);
}

#[tokio::test]
async fn every_host_form() {
    let eddy = Eddy::start();
    // <bucket>.s3.<region>.localhost
    let regional = client(&eddy, "ap-south-2", Some("s3.ap-south-2.localhost")).await;
    regional
        .create_bucket()
        .bucket("hyderabad")
        .create_bucket_configuration(constraint("ap-south-2"))
        .send()
        .await
        .expect("create through <bucket>.s3.<region>.localhost");
    regional
        .put_object()
        .bucket("hyderabad")
        .key("k")
        .body(ByteStream::from_static(b"regional"))
        .send()
        .await
        .expect("put");
    let got = regional
        .get_object()
        .bucket("hyderabad")
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(bytes_of(got).await, b"regional");
    // <bucket>.s3.localhost, signed for the bucket's region.
    let global = client(&eddy, "ap-south-2", Some("s3.localhost")).await;
    let got = global
        .get_object()
        .bucket("hyderabad")
        .key("k")
        .send()
        .await
        .expect("get through <bucket>.s3.localhost");
    assert_eq!(bytes_of(got).await, b"regional");
    // s3.localhost is path-style (it used to be taken for a bucket named `s3`).
    let port = port(&eddy);
    let path_host = format!("s3.localhost:{port}");
    let created = signed(&eddy, "us-east-1", "PUT", &path_host, "/plain-path");
    assert_eq!(created.status, 200, "{}", created.body);
    let listed = signed(&eddy, "us-east-1", "GET", &path_host, "/");
    assert!(
        listed.body.contains("<Name>plain-path</Name>"),
        "{}",
        listed.body
    );
    let listed = signed(
        &eddy,
        "us-east-1",
        "GET",
        &path_host,
        "/plain-path?list-type=2",
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        listed.body.contains("<Name>plain-path</Name>"),
        "{}",
        listed.body
    );
    // s3.<region>.localhost/<bucket>, path-style on a regional endpoint.
    let regional_path = signed(
        &eddy,
        "ap-south-2",
        "GET",
        &format!("s3.ap-south-2.localhost:{port}"),
        "/hyderabad/k",
    );
    assert_eq!(
        (regional_path.status, regional_path.body.as_str()),
        (200, "regional")
    );
    // The older <bucket>.localhost form stays.
    let old = client(&eddy, "ap-south-2", Some("localhost")).await;
    let got = old
        .get_object()
        .bucket("hyderabad")
        .key("k")
        .send()
        .await
        .expect("get through <bucket>.localhost");
    assert_eq!(bytes_of(got).await, b"regional");
}

#[tokio::test]
async fn wrong_region_answers() {
    let eddy = Eddy::start();
    let irish = client(&eddy, "eu-west-1", None).await;
    irish
        .create_bucket()
        .bucket("dublin")
        .create_bucket_configuration(constraint("eu-west-1"))
        .send()
        .await
        .expect("create");
    irish
        .put_object()
        .bucket("dublin")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    let port = port(&eddy).to_owned();

    // Path-style, signed for another region: 301 with the bucket's endpoint.
    let east = client(&eddy, "us-east-1", None).await;
    let error = east
        .get_object()
        .bucket("dublin")
        .key("k")
        .send()
        .await
        .expect_err("wrong region");
    assert_eq!(failure(error), ("PermanentRedirect".to_owned(), 301));
    let raw = signed(
        &eddy,
        "us-west-2",
        "GET",
        &format!("127.0.0.1:{port}"),
        "/dublin/k",
    );
    assert_eq!(raw.status, 301, "{}", raw.body);
    assert_eq!(raw.header("x-amz-bucket-region"), Some("eu-west-1"));
    assert_eq!(element(&raw.body, "Code"), Some("PermanentRedirect"));
    assert_eq!(
        element(&raw.body, "Message"),
        Some(
            "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint."
        )
    );
    assert_eq!(
        element(&raw.body, "Endpoint"),
        Some(format!("dublin.s3.eu-west-1.localhost:{port}").as_str())
    );
    assert_eq!(element(&raw.body, "Bucket"), Some("dublin"));
    assert!(element(&raw.body, "RequestId").is_some(), "{}", raw.body);
    assert!(element(&raw.body, "HostId").is_some(), "{}", raw.body);
    // HEAD answers carry the region, no body.
    let head = signed(
        &eddy,
        "us-east-1",
        "HEAD",
        &format!("127.0.0.1:{port}"),
        "/dublin",
    );
    assert_eq!(head.status, 301);
    assert_eq!(head.header("x-amz-bucket-region"), Some("eu-west-1"));
    let error = east
        .head_bucket()
        .bucket("dublin")
        .send()
        .await
        .expect_err("head in the wrong region");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(301));

    // Virtual-hosted without a region: S3's DNS would have reached the bucket's
    // region, which refuses the signature's region.
    let raw = signed(
        &eddy,
        "us-east-1",
        "GET",
        &format!("dublin.s3.localhost:{port}"),
        "/k",
    );
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert_eq!(raw.header("x-amz-bucket-region"), Some("eu-west-1"));
    assert_eq!(
        element(&raw.body, "Code"),
        Some("AuthorizationHeaderMalformed")
    );
    assert_eq!(
        element(&raw.body, "Message"),
        Some(
            "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
        )
    );
    assert_eq!(element(&raw.body, "Region"), Some("eu-west-1"));
    let vhost = client(&eddy, "us-east-1", Some("s3.localhost")).await;
    let error = vhost
        .get_object()
        .bucket("dublin")
        .key("k")
        .send()
        .await
        .expect_err("wrong region");
    assert_eq!(
        failure(error),
        ("AuthorizationHeaderMalformed".to_owned(), 400)
    );
    let head = signed(
        &eddy,
        "us-east-1",
        "HEAD",
        &format!("dublin.s3.localhost:{port}"),
        "/k",
    );
    assert_eq!((head.status, head.body.as_str()), (400, ""));
    assert_eq!(head.header("x-amz-bucket-region"), Some("eu-west-1"));

    // A regional endpoint refuses a signature for another region.
    let raw = signed(
        &eddy,
        "us-west-2",
        "GET",
        &format!("s3.eu-west-1.localhost:{port}"),
        "/",
    );
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert_eq!(
        element(&raw.body, "Message"),
        Some(
            "The authorization header is malformed; the region 'us-west-2' is wrong; expecting 'eu-west-1'"
        )
    );
    // ...and sends a bucket of another region to that region.
    let raw = signed(
        &eddy,
        "us-west-2",
        "GET",
        &format!("dublin.s3.us-west-2.localhost:{port}"),
        "/k",
    );
    assert_eq!(raw.status, 301, "{}", raw.body);
    // A region S3 does not know.
    let raw = signed(&eddy, "s3", "GET", &format!("127.0.0.1:{port}"), "/");
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert_eq!(
        element(&raw.body, "Message"),
        Some(
            "The authorization header is malformed; the region 's3' is wrong; expecting 'us-east-1'"
        )
    );

    // A presigned URL for the wrong region.
    let presigned = client(&eddy, "us-east-1", Some("s3.localhost"))
        .await
        .get_object()
        .bucket("dublin")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).expect("config"))
        .await
        .expect("presign");
    let path = presigned
        .uri()
        .split_once(&format!(":{port}"))
        .expect("port in uri")
        .1
        .to_owned();
    let raw = send(
        &eddy.endpoint,
        "GET",
        &path,
        &[("host".to_owned(), format!("dublin.s3.localhost:{port}"))],
        b"",
    );
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert_eq!(
        element(&raw.body, "Code"),
        Some("AuthorizationQueryParametersError")
    );
    assert_eq!(
        element(&raw.body, "Message"),
        Some(
            "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
        )
    );
    assert_eq!(element(&raw.body, "Region"), Some("eu-west-1"));

    // GetBucketLocation answers in every region.
    let location = east
        .get_bucket_location()
        .bucket("dublin")
        .send()
        .await
        .expect("location from us-east-1");
    assert_eq!(
        location
            .location_constraint()
            .map(BucketLocationConstraint::as_str),
        Some("eu-west-1")
    );
    // The request that was refused changed nothing; the right region still works.
    let got = irish
        .get_object()
        .bucket("dublin")
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(bytes_of(got).await, b"x");
}
