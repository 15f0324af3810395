"""S3 checksums of multipart uploads and copies with boto3, checked against checksums
computed here with zlib and hashlib: composite and full-object multipart checksums,
S3's default full-object CRC64NVME, part checksums in ListParts and
GetObjectAttributes, the checksum algorithm and type in every listing, and boto3's
own multipart transfer (upload_file) whose checksum HeadObject reports."""

import base64
import hashlib
import zlib

import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig

MIB = 1024 * 1024


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def sha1(data: bytes) -> str:
    return b64(hashlib.sha1(data).digest())


@pytest.fixture
def s3(eddy):
    client = eddy.client("s3")
    client.create_bucket(Bucket="sums")
    return client


def parts_of(size_first=5 * MIB, size_last=123_457):
    first = bytes((i * 7) % 251 for i in range(size_first))
    last = bytes((i * 11) % 241 for i in range(size_last))
    return first, last


def upload_parts(s3, key, upload_id, bodies, algorithm):
    parts = []
    for number, body in enumerate(bodies, start=1):
        answer = s3.upload_part(Bucket="sums", Key=key, UploadId=upload_id, PartNumber=number,
                                Body=body, ChecksumAlgorithm=algorithm)
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        part[f"Checksum{algorithm}"] = answer[f"Checksum{algorithm}"]
        parts.append(part)
    return parts


def test_full_object_crc32_multipart_is_the_crc32_of_the_file(s3):
    first, last = parts_of()
    created = s3.create_multipart_upload(Bucket="sums", Key="full", ChecksumAlgorithm="CRC32",
                                         ChecksumType="FULL_OBJECT")
    assert created["ChecksumAlgorithm"] == "CRC32"
    assert created["ChecksumType"] == "FULL_OBJECT"
    uploads = s3.list_multipart_uploads(Bucket="sums")["Uploads"]
    assert [(u["ChecksumAlgorithm"], u["ChecksumType"]) for u in uploads] == [("CRC32", "FULL_OBJECT")]
    parts = upload_parts(s3, "full", created["UploadId"], [first, last], "CRC32")
    done = s3.complete_multipart_upload(Bucket="sums", Key="full", UploadId=created["UploadId"],
                                        MultipartUpload={"Parts": parts})
    assert done["ChecksumCRC32"] == crc32(first + last)
    assert done["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key="full", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (crc32(first + last), "FULL_OBJECT")
    # Without ChecksumMode, no checksum.
    assert "ChecksumCRC32" not in s3.head_object(Bucket="sums", Key="full")


def test_composite_sha1_multipart_and_its_parts(s3):
    first, last = parts_of()
    created = s3.create_multipart_upload(Bucket="sums", Key="comp", ChecksumAlgorithm="SHA1")
    assert created["ChecksumType"] == "COMPOSITE"
    parts = upload_parts(s3, "comp", created["UploadId"], [first, last], "SHA1")
    listed = s3.list_parts(Bucket="sums", Key="comp", UploadId=created["UploadId"])
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA1", "COMPOSITE")
    assert [p["ChecksumSHA1"] for p in listed["Parts"]] == [sha1(first), sha1(last)]
    done = s3.complete_multipart_upload(Bucket="sums", Key="comp", UploadId=created["UploadId"],
                                        MultipartUpload={"Parts": parts})
    expected = sha1(hashlib.sha1(first).digest() + hashlib.sha1(last).digest()) + "-2"
    assert (done["ChecksumSHA1"], done["ChecksumType"]) == (expected, "COMPOSITE")
    attributes = s3.get_object_attributes(Bucket="sums", Key="comp",
                                          ObjectAttributes=["ETag", "Checksum", "ObjectParts"])
    # S3 writes GetObjectAttributes' ETag without quotes, unlike every other answer.
    assert attributes["ETag"] == s3.head_object(Bucket="sums", Key="comp")["ETag"].strip('"')
    assert not attributes["ETag"].startswith('"')
    assert attributes["Checksum"] == {"ChecksumSHA1": expected, "ChecksumType": "COMPOSITE"}
    assert [p["ChecksumSHA1"] for p in attributes["ObjectParts"]["Parts"]] == [sha1(first), sha1(last)]
    for listing in (s3.list_objects(Bucket="sums")["Contents"],
                    s3.list_objects_v2(Bucket="sums")["Contents"],
                    s3.list_object_versions(Bucket="sums")["Versions"]):
        assert [(o["ChecksumAlgorithm"], o["ChecksumType"]) for o in listing] == [(["SHA1"], "COMPOSITE")]


def test_a_part_of_the_wrong_algorithm_is_refused(s3):
    created = s3.create_multipart_upload(Bucket="sums", Key="k", ChecksumAlgorithm="SHA256")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.upload_part(Bucket="sums", Key="k", UploadId=created["UploadId"], PartNumber=1,
                       Body=b"x", ChecksumAlgorithm="CRC32")
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    assert "expected checksum Type: SHA256" in refused.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.create_multipart_upload(Bucket="sums", Key="k", ChecksumAlgorithm="SHA256",
                                   ChecksumType="FULL_OBJECT")
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"


def test_upload_file_multipart_reports_its_checksum(s3, tmp_path):
    data = bytes((i * 13) % 239 for i in range(11 * MIB))
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    s3.upload_file(str(path), "sums", "big.bin",
                   Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    head = s3.head_object(Bucket="sums", Key="big.bin", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"'), head["ETag"]
    assert head["ChecksumType"] in ("COMPOSITE", "FULL_OBJECT")
    if "ChecksumCRC32" in head and head["ChecksumType"] == "COMPOSITE":
        chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
        joined = b"".join(zlib.crc32(c).to_bytes(4, "big") for c in chunks)
        assert head["ChecksumCRC32"] == crc32(joined) + "-3"
    elif "ChecksumCRC32" in head:
        assert head["ChecksumCRC32"] == crc32(data)
    else:
        assert "ChecksumCRC64NVME" in head, head
    assert s3.get_object(Bucket="sums", Key="big.bin")["Body"].read() == data
