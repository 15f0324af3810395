//! S3 checksums with the AWS SDK for Rust beyond single PUTs: multipart uploads with a
//! composite or a full-object checksum (and S3's default full-object CRC64NVME), the
//! checks of CreateMultipartUpload, UploadPart and CompleteMultipartUpload, part
//! checksums in ListParts, GetObjectAttributes and partNumber reads, listings, copies
//! (kept or recomputed, UploadPartCopy), a restart in the middle of an upload, and
//! `aws s3 cp` of a file large enough to go multipart.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes,
};
use base64::Engine as _;
use sha2::Digest as _;

use crate::util::harness::{Eddy, EddyOptions};
use crate::util::s3::{bucket, failure};

const MIB: usize = 1024 * 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn crc32(data: &[u8]) -> String {
    let value = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, data) as u32;
    b64(&value.to_be_bytes())
}

fn crc32c(data: &[u8]) -> String {
    let value = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32;
    b64(&value.to_be_bytes())
}

fn crc64nvme(data: &[u8]) -> String {
    b64(&crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, data).to_be_bytes())
}

fn sha256(data: &[u8]) -> String {
    b64(&sha2::Sha256::digest(data))
}

/// Two parts: 5 MiB and a short last one, of varied bytes.
fn two_parts() -> (Vec<u8>, Vec<u8>) {
    let first: Vec<u8> = (0..5 * MIB).map(|i| (i * 31 % 251) as u8).collect();
    let second: Vec<u8> = (0..300_000usize).map(|i| (i * 17 % 253) as u8).collect();
    (first, second)
}

/// Creates an upload with the algorithm and type given; returns its id.
async fn create(
    s3: &Client,
    key: &str,
    algorithm: Option<ChecksumAlgorithm>,
    kind: Option<ChecksumType>,
) -> String {
    s3.create_multipart_upload()
        .bucket("sums")
        .key(key)
        .set_checksum_algorithm(algorithm)
        .set_checksum_type(kind)
        .send()
        .await
        .expect("create multipart upload")
        .upload_id()
        .expect("upload id")
        .to_owned()
}

/// Uploads a part, the SDK computing its checksum of `algorithm`; returns the
/// completed part as UploadPart answered it.
async fn upload(
    s3: &Client,
    key: &str,
    upload_id: &str,
    number: i32,
    body: &[u8],
    algorithm: ChecksumAlgorithm,
) -> CompletedPart {
    let part = s3
        .upload_part()
        .bucket("sums")
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .checksum_algorithm(algorithm)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("upload part");
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(part.e_tag().map(str::to_owned))
        .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
        .set_checksum_crc32_c(part.checksum_crc32_c().map(str::to_owned))
        .set_checksum_sha256(part.checksum_sha256().map(str::to_owned))
        .set_checksum_crc64_nvme(part.checksum_crc64_nvme().map(str::to_owned))
        .build()
}

fn completed(parts: Vec<CompletedPart>) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

#[tokio::test]
async fn a_composite_multipart_checksum_is_built_checked_and_reported() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "sums").await;
    let (first, second) = two_parts();
    let id = create(&s3, "composite", Some(ChecksumAlgorithm::Sha256), None).await;
    let p1 = upload(&s3, "composite", &id, 1, &first, ChecksumAlgorithm::Sha256).await;
    let p2 = upload(&s3, "composite", &id, 2, &second, ChecksumAlgorithm::Sha256).await;
    assert_eq!(p1.checksum_sha256(), Some(sha256(&first).as_str()));

    let listed = s3
        .list_parts()
        .bucket("sums")
        .key("composite")
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(
        listed.checksum_algorithm(),
        Some(&ChecksumAlgorithm::Sha256)
    );
    assert_eq!(listed.checksum_type(), Some(&ChecksumType::Composite));
    let part_sums: Vec<_> = listed.parts().iter().map(|p| p.checksum_sha256()).collect();
    assert_eq!(
        part_sums,
        [
            Some(sha256(&first).as_str()),
            Some(sha256(&second).as_str())
        ]
    );

    let mut joined = unb64(&sha256(&first));
    joined.extend(unb64(&sha256(&second)));
    let expected = format!("{}-2", sha256(&joined));
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("composite")
        .upload_id(&id)
        .multipart_upload(completed(vec![p1, p2]))
        .send()
        .await
        .expect("complete");
    assert_eq!(done.checksum_sha256(), Some(expected.as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::Composite));

    let head = s3
        .head_object()
        .bucket("sums")
        .key("composite")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_sha256(), Some(expected.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    // A read of one part reports that part's checksum.
    let part = s3
        .head_object()
        .bucket("sums")
        .key("composite")
        .part_number(2)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head part 2");
    assert_eq!(part.checksum_sha256(), Some(sha256(&second).as_str()));

    let attributes = s3
        .get_object_attributes()
        .bucket("sums")
        .key("composite")
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectParts)
        .send()
        .await
        .expect("get object attributes");
    let checksum = attributes.checksum().expect("Checksum");
    assert_eq!(checksum.checksum_sha256(), Some(expected.as_str()));
    assert_eq!(checksum.checksum_type(), Some(&ChecksumType::Composite));
    let parts = attributes.object_parts().expect("ObjectParts");
    assert_eq!(parts.total_parts_count(), Some(2));
    assert_eq!(
        parts.parts()[0].checksum_sha256(),
        Some(sha256(&first).as_str())
    );

    let listed = s3
        .list_objects_v2()
        .bucket("sums")
        .send()
        .await
        .expect("list");
    let object = &listed.contents()[0];
    assert_eq!(object.checksum_algorithm(), [ChecksumAlgorithm::Sha256]);
    assert_eq!(object.checksum_type(), Some(&ChecksumType::Composite));
}

#[tokio::test]
async fn full_object_multipart_checksums_are_the_crc_of_the_whole_object() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "sums").await;
    let (first, second) = two_parts();
    let whole = [first.as_slice(), second.as_slice()].concat();

    // CRC32C asked for as a full-object checksum; the SDK sends CRC32C parts.
    let id = create(
        &s3,
        "full",
        Some(ChecksumAlgorithm::Crc32C),
        Some(ChecksumType::FullObject),
    )
    .await;
    let p1 = upload(&s3, "full", &id, 1, &first, ChecksumAlgorithm::Crc32C).await;
    let p2 = upload(&s3, "full", &id, 2, &second, ChecksumAlgorithm::Crc32C).await;
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("full")
        .upload_id(&id)
        .checksum_type(ChecksumType::FullObject)
        .checksum_crc32_c(crc32c(&whole))
        .mpu_object_size(whole.len() as i64)
        .multipart_upload(completed(vec![p1, p2]))
        .send()
        .await
        .expect("complete with the whole object's CRC32C");
    assert_eq!(done.checksum_crc32_c(), Some(crc32c(&whole).as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));

    // No algorithm named: S3's default, a full-object CRC64NVME, whatever the parts
    // were sent with.
    let id = create(&s3, "default", None, None).await;
    let p1 = upload(&s3, "default", &id, 1, &first, ChecksumAlgorithm::Crc32).await;
    let p2 = upload(&s3, "default", &id, 2, &second, ChecksumAlgorithm::Crc32).await;
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("default")
        .upload_id(&id)
        .multipart_upload(completed(vec![p1, p2]))
        .send()
        .await
        .expect("complete");
    assert_eq!(done.checksum_crc64_nvme(), Some(crc64nvme(&whole).as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));
    let got = s3
        .get_object()
        .bucket("sums")
        .key("default")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    assert_eq!(got.checksum_crc64_nvme(), Some(crc64nvme(&whole).as_str()));
    assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(body.len(), whole.len());
}

#[tokio::test]
async fn multipart_checksum_mistakes_are_refused_as_s3_refuses_them() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "sums").await;
    let (first, second) = two_parts();

    for (algorithm, kind) in [
        (
            Some(ChecksumAlgorithm::Sha256),
            Some(ChecksumType::FullObject),
        ),
        (
            Some(ChecksumAlgorithm::Crc64Nvme),
            Some(ChecksumType::Composite),
        ),
        (None, Some(ChecksumType::Composite)),
    ] {
        let refused = s3
            .create_multipart_upload()
            .bucket("sums")
            .key("k")
            .set_checksum_algorithm(algorithm.clone())
            .set_checksum_type(kind.clone())
            .send()
            .await
            .expect_err("a type the algorithm cannot have");
        assert_eq!(
            failure(refused),
            ("InvalidRequest".into(), 400),
            "{algorithm:?} {kind:?}"
        );
    }

    let id = create(&s3, "k", Some(ChecksumAlgorithm::Crc32), None).await;
    let refused = s3
        .upload_part()
        .bucket("sums")
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(first.clone()))
        .send()
        .await
        .expect_err("a part of another algorithm");
    assert_eq!(failure(refused), ("InvalidRequest".into(), 400));
    let refused = s3
        .upload_part()
        .bucket("sums")
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .checksum_crc32(crc32(b"other bytes"))
        .body(ByteStream::from(first.clone()))
        .send()
        .await
        .expect_err("a part whose checksum is wrong");
    assert_eq!(failure(refused), ("BadDigest".into(), 400));

    let p1 = upload(&s3, "k", &id, 1, &first, ChecksumAlgorithm::Crc32).await;
    let p2 = upload(&s3, "k", &id, 2, &second, ChecksumAlgorithm::Crc32).await;
    let complete = |parts: Vec<CompletedPart>| {
        s3.complete_multipart_upload()
            .bucket("sums")
            .key("k")
            .upload_id(&id)
            .multipart_upload(completed(parts))
    };
    // A part listed with a checksum it was not uploaded with.
    let wrong = CompletedPart::builder()
        .part_number(2)
        .set_e_tag(p2.e_tag().map(str::to_owned))
        .checksum_crc32(crc32(b"not the part"))
        .build();
    let refused = complete(vec![p1.clone(), wrong])
        .send()
        .await
        .expect_err("a part checksum that differs");
    assert_eq!(failure(refused), ("InvalidPart".into(), 400));
    // A composite upload needs every part's checksum in the completion.
    let bare = CompletedPart::builder()
        .part_number(2)
        .set_e_tag(p2.e_tag().map(str::to_owned))
        .build();
    let refused = complete(vec![p1.clone(), bare])
        .send()
        .await
        .expect_err("a part without its checksum");
    assert_eq!(failure(refused), ("InvalidRequest".into(), 400));
    // The type and the size must be the upload's.
    let refused = complete(vec![p1.clone(), p2.clone()])
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .expect_err("another checksum type");
    assert_eq!(failure(refused), ("InvalidRequest".into(), 400));
    let refused = complete(vec![p1.clone(), p2.clone()])
        .mpu_object_size(12)
        .send()
        .await
        .expect_err("another size");
    assert_eq!(failure(refused), ("InvalidRequest".into(), 400));
    // Nothing was completed: the right request still completes.
    let done = complete(vec![p1, p2]).send().await.expect("complete");
    assert!(
        done.checksum_crc32().is_some_and(|c| c.ends_with("-2")),
        "{done:?}"
    );

    // A full-object completion whose whole-object checksum is wrong.
    let id = create(&s3, "f", Some(ChecksumAlgorithm::Crc64Nvme), None).await;
    let p1 = upload(&s3, "f", &id, 1, &second, ChecksumAlgorithm::Crc64Nvme).await;
    let refused = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("f")
        .upload_id(&id)
        .checksum_crc64_nvme(crc64nvme(b"something else"))
        .multipart_upload(completed(vec![p1]))
        .send()
        .await
        .expect_err("a wrong object checksum");
    assert_eq!(failure(refused), ("BadDigest".into(), 400));
}

#[tokio::test]
async fn copies_keep_or_recompute_the_checksum() {
    let eddy = Eddy::start();
    let s3 = bucket(&eddy, "sums").await;
    let (first, second) = two_parts();
    let whole = [first.as_slice(), second.as_slice()].concat();
    let id = create(&s3, "source", Some(ChecksumAlgorithm::Crc32), None).await;
    let p1 = upload(&s3, "source", &id, 1, &first, ChecksumAlgorithm::Crc32).await;
    let p2 = upload(&s3, "source", &id, 2, &second, ChecksumAlgorithm::Crc32).await;
    s3.complete_multipart_upload()
        .bucket("sums")
        .key("source")
        .upload_id(&id)
        .multipart_upload(completed(vec![p1, p2]))
        .send()
        .await
        .expect("complete");

    // A copy is one piece: a composite source's algorithm, as a full-object checksum.
    let copy = s3
        .copy_object()
        .bucket("sums")
        .key("copy")
        .copy_source("sums/source")
        .send()
        .await
        .expect("copy");
    let result = copy.copy_object_result().expect("result");
    assert_eq!(result.checksum_crc32(), Some(crc32(&whole).as_str()));
    assert_eq!(result.checksum_type(), Some(&ChecksumType::FullObject));
    // Asked for another algorithm, the copy computes it.
    let copy = s3
        .copy_object()
        .bucket("sums")
        .key("copy-sha")
        .copy_source("sums/copy")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .expect("copy with SHA256");
    let result = copy.copy_object_result().expect("result");
    assert_eq!(result.checksum_sha256(), Some(sha256(&whole).as_str()));
    assert_eq!(result.checksum_crc32(), None);
    let head = s3
        .head_object()
        .bucket("sums")
        .key("copy-sha")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_sha256(), Some(sha256(&whole).as_str()));
    // A full-object source's checksum is kept.
    let copy = s3
        .copy_object()
        .bucket("sums")
        .key("copy-of-copy")
        .copy_source("sums/copy")
        .send()
        .await
        .expect("copy a copy");
    let result = copy.copy_object_result().expect("result");
    assert_eq!(result.checksum_crc32(), Some(crc32(&whole).as_str()));

    // UploadPartCopy computes the part's checksum of its upload's algorithm.
    let id = create(&s3, "assembled", Some(ChecksumAlgorithm::Crc32C), None).await;
    let copied = s3
        .upload_part_copy()
        .bucket("sums")
        .key("assembled")
        .upload_id(&id)
        .part_number(1)
        .copy_source("sums/source")
        .copy_source_range(format!("bytes=0-{}", first.len() - 1))
        .send()
        .await
        .expect("upload part copy");
    let result = copied.copy_part_result().expect("result");
    assert_eq!(result.checksum_crc32_c(), Some(crc32c(&first).as_str()));
    let part = CompletedPart::builder()
        .part_number(1)
        .set_e_tag(result.e_tag().map(str::to_owned))
        .set_checksum_crc32_c(result.checksum_crc32_c().map(str::to_owned))
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("assembled")
        .upload_id(&id)
        .multipart_upload(completed(vec![part]))
        .send()
        .await
        .expect("complete the copied upload");
    assert_eq!(
        done.checksum_crc32_c(),
        Some(format!("{}-1", crc32c(&unb64(&crc32c(&first)))).as_str())
    );
}

#[tokio::test]
async fn an_upload_keeps_its_checksums_across_a_restart() {
    let mut eddy = Eddy::process();
    let s3 = bucket(&eddy, "sums").await;
    let (first, second) = two_parts();
    let id = create(&s3, "k", Some(ChecksumAlgorithm::Crc32), None).await;
    let p1 = upload(&s3, "k", &id, 1, &first, ChecksumAlgorithm::Crc32).await;
    let p2 = upload(&s3, "k", &id, 2, &second, ChecksumAlgorithm::Crc32).await;
    let temp = eddy.take_temp();
    let data_dir = eddy.data_dir.clone();
    eddy.terminate();
    drop(eddy);
    let eddy = Eddy::start_with(EddyOptions {
        data_dir: Some(data_dir),
        ..EddyOptions::default()
    });
    let s3 = eddy.s3().await;
    let listed = s3
        .list_parts()
        .bucket("sums")
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .expect("list parts after the restart");
    assert_eq!(listed.checksum_type(), Some(&ChecksumType::Composite));
    assert_eq!(
        listed.parts()[1].checksum_crc32(),
        Some(crc32(&second).as_str())
    );
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("k")
        .upload_id(&id)
        .multipart_upload(completed(vec![p1, p2]))
        .send()
        .await
        .expect("complete after the restart");
    let mut joined = unb64(&crc32(&first));
    joined.extend(unb64(&crc32(&second)));
    assert_eq!(
        done.checksum_crc32(),
        Some(format!("{}-2", crc32(&joined)).as_str())
    );
    drop(temp);
}

#[tokio::test]
async fn aws_s3_cp_of_a_large_file_reports_its_multipart_checksum() {
    let eddy = Eddy::start();
    bucket(&eddy, "sums").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.bin");
    let data: Vec<u8> = (0..20 * MIB).map(|i| (i * 13 % 241) as u8).collect();
    std::fs::write(&path, &data).expect("write file");
    let copied = eddy.aws(&[
        "s3",
        "cp",
        path.to_str().expect("path"),
        "s3://sums/big.bin",
    ]);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let head = eddy.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        "sums",
        "--key",
        "big.bin",
        "--checksum-mode",
        "ENABLED",
    ]);
    assert!(
        head.status.success(),
        "{}",
        String::from_utf8_lossy(&head.stderr)
    );
    let head: serde_json::Value = serde_json::from_slice(&head.stdout).expect("json");
    assert!(
        head["ETag"].as_str().is_some_and(|e| e.contains('-')),
        "the copy went multipart: {head}"
    );
    // Whichever algorithm the CLI chose, the checksum is reported with its type, and
    // a full-object CRC is the CRC of the file.
    let kind = head["ChecksumType"].as_str().expect("ChecksumType");
    match (
        kind,
        head["ChecksumCRC32"].as_str(),
        head["ChecksumCRC64NVME"].as_str(),
    ) {
        ("COMPOSITE", Some(sum), _) => assert!(sum.ends_with("-3"), "{head}"),
        ("FULL_OBJECT", Some(sum), _) => assert_eq!(sum, crc32(&data)),
        ("FULL_OBJECT", None, Some(sum)) => assert_eq!(sum, crc64nvme(&data)),
        _ => panic!("unexpected checksum: {head}"),
    }
}
