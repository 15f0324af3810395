//! S3 objects with the AWS SDK for Rust: tagging, partNumber reads, UploadPartCopy
//! with ranges, multipart listings with paging, storage classes, Range edge cases and
//! conditional requests. Addressing, presigned URLs, listings, limits and checksums are
//! in `s3_requests`.

use crate::util::harness::Eddy;
use crate::util::s3::{bucket, bytes_of, failure, put};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, StorageClass, Tag, Tagging, TaggingDirective,
};

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let mut builder = Tagging::builder();
    for (k, v) in pairs {
        builder = builder.tag_set(Tag::builder().key(*k).value(*v).build().expect("tag"));
    }
    builder.build().expect("tagging")
}

/// The sorted tag pairs of an object of the `tags` bucket.
async fn object_tags(s3: &Client, key: &str) -> Vec<(String, String)> {
    let got = s3
        .get_object_tagging()
        .bucket("tags")
        .key(key)
        .send()
        .await
        .expect("get object tagging");
    tag_pairs(got.tag_set())
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = tags
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn object_and_bucket_tagging() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "tags").await;
    s3.put_object()
        .bucket("tags")
        .key("k")
        .tagging("team=data&stage=raw%20input")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put with x-amz-tagging");
    assert_eq!(
        object_tags(&s3, "k").await,
        [
            ("stage".into(), "raw input".into()),
            ("team".into(), "data".into())
        ]
    );
    let object = s3
        .get_object()
        .bucket("tags")
        .key("k")
        .send()
        .await
        .expect("get");
    assert_eq!(object.tag_count(), Some(2));
    s3.put_object_tagging()
        .bucket("tags")
        .key("k")
        .tagging(tagging(&[("only", "one")]))
        .send()
        .await
        .expect("put tagging");
    assert_eq!(object_tags(&s3, "k").await, [("only".into(), "one".into())]);
    // A copy keeps the tags unless told to replace them.
    s3.copy_object()
        .bucket("tags")
        .key("copy")
        .copy_source("tags/k")
        .send()
        .await
        .expect("copy");
    assert_eq!(
        object_tags(&s3, "copy").await,
        [("only".into(), "one".into())]
    );
    s3.copy_object()
        .bucket("tags")
        .key("copy2")
        .copy_source("tags/k")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("new=tag")
        .send()
        .await
        .expect("copy replacing tags");
    assert_eq!(
        object_tags(&s3, "copy2").await,
        [("new".into(), "tag".into())]
    );
    s3.delete_object_tagging()
        .bucket("tags")
        .key("k")
        .send()
        .await
        .expect("delete tagging");
    assert!(object_tags(&s3, "k").await.is_empty());
    // Eleven tags are too many; a duplicate key is invalid.
    let many: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let error = s3
        .put_object_tagging()
        .bucket("tags")
        .key("k")
        .tagging(tagging(&many))
        .send()
        .await
        .expect_err("11 tags");
    assert_eq!(failure(error), ("InvalidTag".into(), 400));
    let error = s3
        .put_object()
        .bucket("tags")
        .key("dup")
        .tagging("a=1&a=2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("duplicate tag key");
    assert_eq!(failure(error), ("InvalidTag".into(), 400));
    let error = s3
        .get_object_tagging()
        .bucket("tags")
        .key("missing")
        .send()
        .await
        .expect_err("missing key");
    assert_eq!(failure(error), ("NoSuchKey".into(), 404));

    // Bucket tagging.
    let error = s3
        .get_bucket_tagging()
        .bucket("tags")
        .send()
        .await
        .expect_err("no tag set");
    assert_eq!(failure(error), ("NoSuchTagSet".into(), 404));
    s3.put_bucket_tagging()
        .bucket("tags")
        .tagging(tagging(&[("owner", "eddy"), ("env", "test")]))
        .send()
        .await
        .expect("put bucket tagging");
    let got = s3
        .get_bucket_tagging()
        .bucket("tags")
        .send()
        .await
        .expect("get bucket tagging");
    assert_eq!(
        tag_pairs(got.tag_set()),
        [
            ("env".into(), "test".into()),
            ("owner".into(), "eddy".into())
        ]
    );
    s3.delete_bucket_tagging()
        .bucket("tags")
        .send()
        .await
        .expect("delete bucket tagging");
    let error = s3
        .get_bucket_tagging()
        .bucket("tags")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(failure(error), ("NoSuchTagSet".into(), 404));
}

/// Uploads a 3-part object (5 MiB, 5 MiB, 1 KiB) with distinct bytes per part.
async fn three_part_object(s3: &Client, bucket: &str, key: &str) -> (Vec<u8>, String) {
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create upload");
    let id = upload.upload_id().expect("upload id");
    let sizes = [5 * 1024 * 1024, 5 * 1024 * 1024, 1024];
    let mut all = Vec::new();
    let mut parts = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let bytes = vec![b'a' + i as u8; *size];
        all.extend_from_slice(&bytes);
        let part = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(i as i32 + 1)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .expect("part");
        parts.push(
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(part.e_tag().expect("etag"))
                .build(),
        );
    }
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    (all, done.e_tag().expect("etag").to_owned())
}

#[tokio::test]
async fn get_and_head_by_part_number() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "parts").await;
    let (all, etag) = three_part_object(&s3, "parts", "big").await;
    assert!(etag.ends_with("-3\""), "{etag}");
    let five = 5 * 1024 * 1024;
    for (number, start, length) in [(1, 0, five), (2, five, five), (3, 2 * five, 1024)] {
        let part = s3
            .get_object()
            .bucket("parts")
            .key("big")
            .part_number(number)
            .send()
            .await
            .expect("get part");
        assert_eq!(part.parts_count(), Some(3));
        assert_eq!(part.content_length(), Some(length as i64));
        assert_eq!(part.e_tag(), Some(etag.as_str()));
        assert_eq!(
            part.content_range(),
            Some(format!("bytes {start}-{}/{}", start + length - 1, all.len()).as_str())
        );
        assert_eq!(bytes_of(part).await, &all[start..start + length]);
        let head = s3
            .head_object()
            .bucket("parts")
            .key("big")
            .part_number(number)
            .send()
            .await
            .expect("head part");
        assert_eq!(head.content_length(), Some(length as i64));
        assert_eq!(head.parts_count(), Some(3));
    }
    let error = s3
        .get_object()
        .bucket("parts")
        .key("big")
        .part_number(4)
        .send()
        .await
        .expect_err("no part 4");
    assert_eq!(failure(error), ("InvalidPart".into(), 400));
    // A single-part object has exactly one part.
    put(&s3, "parts", "small", b"0123456789").await;
    let one = s3
        .get_object()
        .bucket("parts")
        .key("small")
        .part_number(1)
        .send()
        .await
        .expect("part 1 of a simple object");
    assert_eq!(bytes_of(one).await, b"0123456789");
    let error = s3
        .get_object()
        .bucket("parts")
        .key("small")
        .part_number(2)
        .send()
        .await
        .expect_err("no part 2");
    assert_eq!(failure(error), ("InvalidPart".into(), 400));
}

#[tokio::test]
async fn upload_part_copy_with_ranges() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "pcopy").await;
    let source: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    put(&s3, "pcopy", "source file", &source).await;
    // A small object (its bytes kept in the database) is a copy source too.
    let small: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8 + b'a').collect();
    put(&s3, "pcopy", "small", &small).await;
    let upload = s3
        .create_multipart_upload()
        .bucket("pcopy")
        .key("assembled")
        .send()
        .await
        .expect("create upload");
    let id = upload.upload_id().expect("upload id");
    let first = s3
        .upload_part_copy()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(id)
        .part_number(1)
        .copy_source("pcopy/source%20file")
        .copy_source_range(format!("bytes=0-{}", 5 * 1024 * 1024 - 1))
        .send()
        .await
        .expect("copy part 1");
    let second = s3
        .upload_part_copy()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(id)
        .part_number(2)
        .copy_source("pcopy/small")
        .copy_source_range("bytes=100-199")
        .send()
        .await
        .expect("copy part 2");
    let error = s3
        .upload_part_copy()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(id)
        .part_number(3)
        .copy_source("pcopy/source%20file")
        .copy_source_range(format!("bytes=0-{}", source.len()))
        .send()
        .await
        .expect_err("range past the end");
    assert_eq!(failure(error), ("InvalidRange".into(), 416));
    let error = s3
        .upload_part_copy()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(id)
        .part_number(3)
        .copy_source("pcopy/source%20file")
        .copy_source_if_match("\"not-the-etag\"")
        .send()
        .await
        .expect_err("failed condition");
    assert_eq!(failure(error), ("PreconditionFailed".into(), 412));
    let parts = [first, second]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(p.copy_part_result().and_then(|r| r.e_tag()).expect("etag"))
                .build()
        })
        .collect();
    s3.complete_multipart_upload()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let assembled = bytes_of(
        s3.get_object()
            .bucket("pcopy")
            .key("assembled")
            .send()
            .await
            .expect("get"),
    )
    .await;
    let mut expected = source[..5 * 1024 * 1024].to_vec();
    expected.extend_from_slice(&small[100..200]);
    assert_eq!(assembled, expected);
}

#[tokio::test]
async fn multipart_listings_page() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "mpl").await;
    let mut ids = Vec::new();
    for key in ["a", "b", "b", "dir/c", "dir/d"] {
        let upload = s3
            .create_multipart_upload()
            .bucket("mpl")
            .key(key)
            .storage_class(StorageClass::StandardIa)
            .send()
            .await
            .expect("create upload");
        ids.push((key.to_owned(), upload.upload_id().expect("id").to_owned()));
    }
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_multipart_uploads()
            .bucket("mpl")
            .max_uploads(2)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .expect("list uploads");
        for upload in page.uploads() {
            assert_eq!(upload.storage_class(), Some(&StorageClass::StandardIa));
            seen.push((
                upload.key().expect("key").to_owned(),
                upload.upload_id().expect("id").to_owned(),
            ));
        }
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_upload_id_marker().map(str::to_owned);
    }
    let mut expected = ids.clone();
    expected.sort();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    assert_eq!(sorted_seen, expected, "every upload exactly once");
    assert_eq!(seen.len(), 5);
    let folded = s3
        .list_multipart_uploads()
        .bucket("mpl")
        .delimiter("/")
        .send()
        .await
        .expect("list with delimiter");
    assert_eq!(folded.uploads().len(), 3);
    let prefixes: Vec<_> = folded
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["dir/"]);

    // ListParts pages by part number marker.
    let (key, id) = &ids[0];
    for number in 1..=5 {
        s3.upload_part()
            .bucket("mpl")
            .key(key)
            .upload_id(id)
            .part_number(number)
            .body(ByteStream::from(vec![b'x'; number as usize]))
            .send()
            .await
            .expect("part");
    }
    let mut numbers = Vec::new();
    let mut marker = None::<String>;
    loop {
        let page = s3
            .list_parts()
            .bucket("mpl")
            .key(key)
            .upload_id(id)
            .max_parts(2)
            .set_part_number_marker(marker.clone())
            .send()
            .await
            .expect("list parts");
        numbers.extend(
            page.parts()
                .iter()
                .map(|p| p.part_number().expect("number")),
        );
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        marker = page.next_part_number_marker().map(str::to_owned);
    }
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    for bad in [0, 10_001] {
        let error = s3
            .upload_part()
            .bucket("mpl")
            .key(key)
            .upload_id(id)
            .part_number(bad)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect_err("part number out of range");
        assert_eq!(failure(error), ("InvalidArgument".into(), 400));
    }
}

#[tokio::test]
async fn storage_class_is_accepted_and_reported() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "classes").await;
    s3.put_object()
        .bucket("classes")
        .key("ia")
        .storage_class(StorageClass::StandardIa)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put STANDARD_IA");
    put(&s3, "classes", "std", b"y").await;
    let head = s3
        .head_object()
        .bucket("classes")
        .key("ia")
        .send()
        .await
        .expect("head");
    assert_eq!(head.storage_class(), Some(&StorageClass::StandardIa));
    let head = s3
        .head_object()
        .bucket("classes")
        .key("std")
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.storage_class(),
        None,
        "STANDARD is not reported on HEAD"
    );
    let listed = s3
        .list_objects_v2()
        .bucket("classes")
        .send()
        .await
        .expect("list");
    let classes: Vec<_> = listed
        .contents()
        .iter()
        .map(|o| o.storage_class().map(|c| c.as_str().to_owned()))
        .collect();
    assert_eq!(
        classes,
        [Some("STANDARD_IA".to_owned()), Some("STANDARD".to_owned())]
    );
    let error = s3
        .put_object()
        .bucket("classes")
        .key("bad")
        .storage_class(StorageClass::from("FAST"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("unknown class");
    assert_eq!(failure(error), ("InvalidStorageClass".into(), 400));
    // Changing only the storage class is a valid copy onto itself.
    s3.copy_object()
        .bucket("classes")
        .key("std")
        .copy_source("classes/std")
        .storage_class(StorageClass::Glacier)
        .send()
        .await
        .expect("copy onto itself with a new class");
    let error = s3
        .get_object()
        .bucket("classes")
        .key("std")
        .send()
        .await
        .expect_err("archived");
    assert_eq!(failure(error), ("InvalidObjectState".into(), 403));
}

#[tokio::test]
async fn range_edge_cases() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "ranges").await;
    put(&s3, "ranges", "ten", b"0123456789").await;
    for (range, body, content_range) in [
        ("bytes=0-0", &b"0"[..], "bytes 0-0/10"),
        ("bytes=2-4", b"234", "bytes 2-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=5-100", b"56789", "bytes 5-9/10"),
        ("bytes=-100", b"0123456789", "bytes 0-9/10"),
    ] {
        let output = s3
            .get_object()
            .bucket("ranges")
            .key("ten")
            .range(range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{range}: {e:?}"));
        assert_eq!(output.content_range(), Some(content_range), "{range}");
        assert_eq!(bytes_of(output).await, body, "{range}");
    }
    for range in ["bytes=10-", "bytes=20-30"] {
        let error = s3
            .get_object()
            .bucket("ranges")
            .key("ten")
            .range(range)
            .send()
            .await
            .expect_err("unsatisfiable");
        assert_eq!(failure(error), ("InvalidRange".into(), 416), "{range}");
    }
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("ten")
        .range("bytes=0-1")
        .part_number(1)
        .send()
        .await
        .expect_err("range and partNumber");
    assert_eq!(failure(error).1, 400);
}

#[tokio::test]
async fn conditional_requests() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "cond").await;
    let etag = put(&s3, "cond", "k", b"data").await;
    let past = DateTime::from_secs(1_000_000_000);
    let future = DateTime::from_secs(4_000_000_000);
    let get = |s3: &Client| s3.get_object().bucket("cond").key("k");
    assert!(get(&s3).if_match(&etag).send().await.is_ok());
    assert_eq!(
        failure(
            get(&s3)
                .if_match("\"other\"")
                .send()
                .await
                .expect_err("if-match")
        ),
        ("PreconditionFailed".into(), 412)
    );
    let not_modified = get(&s3)
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("if-none-match");
    assert_eq!(failure(not_modified).1, 304);
    assert!(get(&s3).if_none_match("\"other\"").send().await.is_ok());
    assert!(get(&s3).if_modified_since(past).send().await.is_ok());
    assert_eq!(
        failure(
            get(&s3)
                .if_modified_since(future)
                .send()
                .await
                .expect_err("not modified")
        )
        .1,
        304
    );
    assert!(get(&s3).if_unmodified_since(future).send().await.is_ok());
    assert_eq!(
        failure(
            get(&s3)
                .if_unmodified_since(past)
                .send()
                .await
                .expect_err("modified")
        ),
        ("PreconditionFailed".into(), 412)
    );
    // If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since.
    assert!(
        get(&s3)
            .if_match(&etag)
            .if_unmodified_since(past)
            .send()
            .await
            .is_ok()
    );
    assert_eq!(
        failure(
            get(&s3)
                .if_none_match(&etag)
                .if_modified_since(past)
                .send()
                .await
                .expect_err("304")
        )
        .1,
        304
    );
    // Conditional PUT: If-None-Match: * refuses to overwrite.
    let error = s3
        .put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"new"))
        .send()
        .await
        .expect_err("exists");
    assert_eq!(failure(error), ("PreconditionFailed".into(), 412));
    // CopyObject conditions on the source.
    let error = s3
        .copy_object()
        .bucket("cond")
        .key("copy")
        .copy_source("cond/k")
        .copy_source_if_none_match(&etag)
        .send()
        .await
        .expect_err("copy-source-if-none-match");
    assert_eq!(failure(error), ("PreconditionFailed".into(), 412));
    s3.copy_object()
        .bucket("cond")
        .key("copy")
        .copy_source("cond/k")
        .copy_source_if_match(&etag)
        .send()
        .await
        .expect("copy-source-if-match");
}
