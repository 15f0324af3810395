//! CreateBucket's configuration: the `LocationConstraint` each region accepts or
//! refuses as S3 does (us-east-1, S3's global endpoint, creating buckets of every
//! region), and the `Tags` a bucket is created with, durable across a restart.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::s3_regions::{client, constraint};
use crate::util::harness::{Eddy, EddyOptions};
use crate::util::s3::failure;

#[tokio::test]
async fn create_bucket_location_constraints() {
    let eddy = Eddy::start();
    let east = client(&eddy, "us-east-1", None).await;
    let irish = client(&eddy, "eu-west-1", None).await;
    // us-east-1, S3's global endpoint, creates buckets of every region.
    east.create_bucket()
        .bucket("from-east")
        .create_bucket_configuration(constraint("ap-southeast-7"))
        .send()
        .await
        .expect("us-east-1 creates for another region");
    let head = client(&eddy, "ap-southeast-7", None)
        .await
        .head_bucket()
        .bucket("from-east")
        .send()
        .await
        .expect("head in its region");
    assert_eq!(head.bucket_region(), Some("ap-southeast-7"));
    // EU is eu-west-1.
    irish
        .create_bucket()
        .bucket("old-eu")
        .create_bucket_configuration(constraint("EU"))
        .send()
        .await
        .expect("EU");
    let head = irish
        .head_bucket()
        .bucket("old-eu")
        .send()
        .await
        .expect("head");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));

    let refused = async |s3: &Client, bucket: &str, region: Option<&str>| {
        let mut request = s3.create_bucket().bucket(bucket);
        if let Some(region) = region {
            request = request.create_bucket_configuration(constraint(region));
        }
        let error = request.send().await.expect_err("refused");
        let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&error)
            .unwrap_or_default()
            .to_owned();
        let (code, status) = failure(error);
        (code, status, message)
    };
    assert_eq!(
        refused(&irish, "no-constraint", None).await,
        (
            "IllegalLocationConstraintException".to_owned(),
            400,
            "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.".to_owned()
        )
    );
    assert_eq!(
        refused(&irish, "elsewhere", Some("us-west-2")).await,
        (
            "IllegalLocationConstraintException".to_owned(),
            400,
            "The us-west-2 location constraint is incompatible for the region specific endpoint this request was sent to.".to_owned()
        )
    );
    assert_eq!(
        refused(&east, "moon", Some("moon-base-1")).await,
        (
            "InvalidLocationConstraint".to_owned(),
            400,
            "The specified location-constraint is not valid".to_owned()
        )
    );
    assert_eq!(
        refused(&east, "named-east", Some("us-east-1")).await.0,
        "InvalidLocationConstraint"
    );
    // A bucket that exists elsewhere: 409 BucketAlreadyOwnedByYou.
    assert_eq!(
        refused(&east, "old-eu", None).await.0,
        "BucketAlreadyOwnedByYou"
    );
    // None of the refused buckets exists.
    let names: Vec<_> = east
        .list_buckets()
        .send()
        .await
        .expect("list")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["destination", "from-east", "old-eu", "source"]);
}

#[tokio::test]
async fn a_bucket_created_with_tags_answers_them() {
    let mut eddy = Eddy::process();
    let s3 = client(&eddy, "eu-west-1", None).await;
    let tag = |k: &str, v: &str| {
        aws_sdk_s3::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("tag")
    };
    s3.create_bucket()
        .bucket("born-tagged")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .tags(tag("team", "data"))
                .tags(tag("env", "dev"))
                .build(),
        )
        .send()
        .await
        .expect("create with tags");
    let tags = |output: aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput| {
        let mut pairs: Vec<(String, String)> = output
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        pairs.sort();
        pairs
    };
    let expected = vec![
        ("env".to_owned(), "dev".to_owned()),
        ("team".to_owned(), "data".to_owned()),
    ];
    let got = s3
        .get_bucket_tagging()
        .bucket("born-tagged")
        .send()
        .await
        .expect("tagging");
    assert_eq!(tags(got), expected);
    // Bad tags refuse the bucket.
    let error = s3
        .create_bucket()
        .bucket("badly-tagged")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .tags(tag("", "x"))
                .build(),
        )
        .send()
        .await
        .expect_err("empty tag key");
    assert_eq!(failure(error).0, "InvalidTag");
    assert!(
        s3.head_bucket()
            .bucket("badly-tagged")
            .send()
            .await
            .is_err()
    );
    // The tags are durable.
    eddy.terminate();
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    drop(eddy);
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let got = client(&eddy, "eu-west-1", None)
        .await
        .get_bucket_tagging()
        .bucket("born-tagged")
        .send()
        .await
        .expect("tagging after restart");
    assert_eq!(tags(got), expected);
    drop(temp);
}
