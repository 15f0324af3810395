//! The checksums of multipart uploads, as S3 keeps them since its default data
//! integrity (December 2024): the algorithm and type an upload is created with
//! (`COMPOSITE` by default for SHA1, SHA256, CRC32 and CRC32C; `FULL_OBJECT` for
//! CRC64NVME, and a full-object CRC64NVME when none is named), the check of each part's
//! algorithm against its upload's, and the object checksum a completion builds from
//! the parts' checksums: `COMPOSITE` (the checksum of the parts' checksums, then `-`
//! and the part count) or `FULL_OBJECT` (the parts' CRCs combined into the CRC of the
//! whole object, without reading it again). Depends on `checksums`.

use std::collections::BTreeMap;

use base64::Engine as _;
use s3s::dto::{ChecksumAlgorithm, ChecksumType, CompletedPart};
use s3s::{S3Result, s3_error};

use eddy_store::s3::{ChecksumKind, Part, Upload};

use super::checksums::{ChecksumRequest, TRAILER_HEADERS};

/// The algorithm of a multipart object's checksum when its upload names none.
pub(super) const DEFAULT_ALGORITHM: &str = "CRC64NVME";

/// The checksum a CreateMultipartUpload asks for: the algorithm it names (in S3's
/// spelling), if any, and the type.
pub(super) fn upload_checksum(
    algorithm: Option<&ChecksumAlgorithm>,
    kind: Option<&ChecksumType>,
) -> S3Result<(Option<String>, ChecksumKind)> {
    let algorithm = algorithm.map(|a| a.as_str().to_ascii_uppercase());
    if let Some(name) = &algorithm
        && !TRAILER_HEADERS.iter().any(|(known, _)| known == name)
    {
        return Err(s3_error!(
            InvalidRequest,
            "Value for x-amz-checksum-algorithm header is invalid."
        ));
    }
    let kind = match kind.map(ChecksumType::as_str) {
        None => None,
        Some(ChecksumType::FULL_OBJECT) => Some(ChecksumKind::FullObject),
        Some(ChecksumType::COMPOSITE) => Some(ChecksumKind::Composite),
        Some(_) => {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid."
            ));
        }
    };
    match (algorithm, kind) {
        (None, Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
        )),
        (None, None) => Ok((None, ChecksumKind::FullObject)),
        (Some(name), kind) => {
            let kind = kind.unwrap_or(if name == DEFAULT_ALGORITHM {
                ChecksumKind::FullObject
            } else {
                ChecksumKind::Composite
            });
            let allowed = match kind {
                ChecksumKind::FullObject => crc_of(&name).is_some(),
                ChecksumKind::Composite => name != DEFAULT_ALGORITHM,
            };
            if !allowed {
                return Err(s3_error!(
                    InvalidRequest,
                    "The {} checksum type cannot be used with the {} checksum algorithm.",
                    kind.as_str(),
                    name.to_ascii_lowercase()
                ));
            }
            Ok((Some(name), kind))
        }
    }
}

/// The algorithm of the checksum an upload's object gets: the one its creation
/// named, else S3's default.
pub(super) fn upload_algorithm(upload: &Upload) -> &str {
    upload
        .attrs
        .checksum_algorithm
        .as_deref()
        .unwrap_or(DEFAULT_ALGORITHM)
}

/// The type of the checksum an upload's object gets.
pub(super) fn upload_kind(upload: &Upload) -> ChecksumKind {
    upload
        .attrs
        .checksum_type
        .unwrap_or(ChecksumKind::FullObject)
}

/// S3 refuses a part whose checksum is of another algorithm than the one its upload
/// was created with, and a part without a checksum for an upload with a composite one
/// (an upload created without an algorithm takes any part).
pub(super) fn check_part_algorithms(upload: &Upload, asked: &[&str]) -> S3Result<()> {
    let Some(expected) = upload.attrs.checksum_algorithm.as_deref() else {
        return Ok(());
    };
    let mismatch = |actual: &str| {
        s3_error!(
            InvalidRequest,
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            expected,
            actual
        )
    };
    if let Some(other) = asked.iter().find(|name| **name != expected) {
        return Err(mismatch(other));
    }
    if asked.is_empty() && upload_kind(upload) == ChecksumKind::Composite {
        return Err(mismatch("null"));
    }
    Ok(())
}

/// What a CompleteMultipartUpload says about checksums.
pub(super) struct CompletionRequest<'a> {
    /// The parts as listed in the request (with any checksums they carry).
    pub parts: &'a [CompletedPart],
    /// The whole object's checksums (`x-amz-checksum-*`), by algorithm name.
    pub object: [(&'static str, Option<&'a String>); 5],
    pub checksum_type: Option<&'a ChecksumType>,
    /// `x-amz-mp-object-size`.
    pub object_size: Option<i64>,
}

/// Checks a completion's checksums against the chosen parts' and builds the object's
/// checksum (by algorithm name) and its type.
pub(super) fn object_checksum(
    upload: &Upload,
    request: &CompletionRequest<'_>,
    chosen: &[Part],
) -> S3Result<(BTreeMap<String, String>, ChecksumKind)> {
    let algorithm = upload_algorithm(upload);
    let kind = upload_kind(upload);
    if let Some(asked) = request.checksum_type
        && asked.as_str() != kind.as_str()
    {
        return Err(s3_error!(
            InvalidRequest,
            "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
            kind.as_str()
        ));
    }
    let total: u64 = chosen.iter().map(|p| p.size).sum();
    if let Some(size) = request.object_size
        && u64::try_from(size).ok() != Some(total)
    {
        return Err(s3_error!(
            InvalidRequest,
            "The provided 'x-amz-mp-object-size' header value {} does not match what was computed: {}",
            size,
            total
        ));
    }
    let sums: Option<Vec<(&str, u64)>> = chosen
        .iter()
        .map(|p| Some((p.checksums.get(algorithm)?.as_str(), p.size)))
        .collect();
    // Parts stored before eddy kept their checksums leave the object without one.
    let Some(sums) = sums else {
        check_listed_parts(upload, request, chosen)?;
        return Ok((BTreeMap::new(), kind));
    };
    let value = match kind {
        ChecksumKind::Composite => composite(algorithm, &sums),
        ChecksumKind::FullObject => combined_crc(algorithm, &sums),
    }
    .ok_or_else(|| s3_error!(InternalError, "a part's stored checksum is malformed"))?;
    for (name, given) in request.object {
        let Some(given) = given else { continue };
        let matches = name == algorithm
            && match kind {
                // SDKs send a composite checksum with or without its part count.
                ChecksumKind::Composite => {
                    *given == value || value.split('-').next() == Some(given.as_str())
                }
                ChecksumKind::FullObject => *given == value,
            };
        if !matches {
            return Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                name
            ));
        }
    }
    check_listed_parts(upload, request, chosen)?;
    Ok((BTreeMap::from([(algorithm.to_owned(), value)]), kind))
}

/// Checks the part checksums a completion lists against the parts': a different one
/// is an unknown part; a missing one is refused for an upload with a composite
/// checksum of a named algorithm.
fn check_listed_parts(
    upload: &Upload,
    request: &CompletionRequest<'_>,
    chosen: &[Part],
) -> S3Result<()> {
    let algorithm = upload_algorithm(upload);
    let kind = upload_kind(upload);
    let explicit = upload.attrs.checksum_algorithm.is_some();
    for part in chosen {
        let listed = request
            .parts
            .iter()
            .find(|p| p.part_number == i32::try_from(part.part_number).ok());
        let given = listed.and_then(|p| part_checksum_field(p, algorithm));
        match given {
            Some(given) if part.checksums.get(algorithm) != Some(given) => {
                return Err(s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
                ));
            }
            None if explicit && kind == ChecksumKind::Composite => {
                return Err(s3_error!(
                    InvalidRequest,
                    "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                    algorithm.to_ascii_lowercase(),
                    part.part_number
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The checksum of `algorithm` a completed part lists.
fn part_checksum_field<'p>(part: &'p CompletedPart, algorithm: &str) -> Option<&'p String> {
    match algorithm {
        "CRC32" => part.checksum_crc32.as_ref(),
        "CRC32C" => part.checksum_crc32c.as_ref(),
        "SHA1" => part.checksum_sha1.as_ref(),
        "SHA256" => part.checksum_sha256.as_ref(),
        "CRC64NVME" => part.checksum_crc64nvme.as_ref(),
        _ => None,
    }
}

/// The CRC of an algorithm that has one, and its width in bytes.
fn crc_of(algorithm: &str) -> Option<(crc_fast::CrcAlgorithm, usize)> {
    match algorithm {
        "CRC32" => Some((crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4)),
        "CRC32C" => Some((crc_fast::CrcAlgorithm::Crc32Iscsi, 4)),
        "CRC64NVME" => Some((crc_fast::CrcAlgorithm::Crc64Nvme, 8)),
        _ => None,
    }
}

/// A composite checksum: the checksum of the parts' decoded checksums, then `-N`.
fn composite(algorithm: &str, parts: &[(&str, u64)]) -> Option<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut hasher = ChecksumRequest::computing(algorithm);
    for (checksum, _) in parts {
        hasher.update(&engine.decode(checksum).ok()?);
    }
    let value = hasher.finish(None).ok()?.remove(algorithm)?;
    Some(format!("{value}-{}", parts.len()))
}

/// A full-object CRC: the parts' CRCs (with their lengths) combined in order.
fn combined_crc(algorithm: &str, parts: &[(&str, u64)]) -> Option<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let (crc, width) = crc_of(algorithm)?;
    let mut combined: Option<u64> = None;
    for (checksum, length) in parts {
        let bytes = engine.decode(checksum).ok()?;
        if bytes.len() != width {
            return None;
        }
        let value = bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        combined = Some(match combined {
            None => value,
            Some(before) => crc_fast::checksum_combine(crc, before, value, *length),
        });
    }
    let value = combined?;
    let bytes = value.to_be_bytes();
    Some(engine.encode(&bytes[8 - width..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(algorithm: &str, data: &[u8]) -> String {
        let mut hasher = ChecksumRequest::computing(algorithm);
        hasher.update(data);
        hasher.finish(None).unwrap().remove(algorithm).unwrap()
    }

    #[test]
    fn combined_part_crcs_are_the_crc_of_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (a, b) = data.split_at(61_234);
        for algorithm in ["CRC32", "CRC32C", "CRC64NVME"] {
            let parts = [
                (whole(algorithm, a), a.len() as u64),
                (whole(algorithm, b), b.len() as u64),
            ];
            let parts: Vec<(&str, u64)> = parts.iter().map(|(c, l)| (c.as_str(), *l)).collect();
            assert_eq!(
                combined_crc(algorithm, &parts).unwrap(),
                whole(algorithm, &data),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn a_composite_checksum_hashes_the_decoded_part_checksums() {
        let engine = base64::engine::general_purpose::STANDARD;
        let (a, b) = (whole("SHA256", b"first"), whole("SHA256", b"second"));
        let mut joined = engine.decode(&a).unwrap();
        joined.extend(engine.decode(&b).unwrap());
        let expected = format!("{}-2", whole("SHA256", &joined));
        assert_eq!(
            composite("SHA256", &[(a.as_str(), 5), (b.as_str(), 6)]).unwrap(),
            expected
        );
    }

    #[test]
    fn upload_types_follow_s3_rules() {
        let algo = |s: &str| ChecksumAlgorithm::from(s.to_owned());
        let kind = |s: &str| ChecksumType::from(s.to_owned());
        assert_eq!(
            upload_checksum(Some(&algo("CRC32")), None).unwrap(),
            (Some("CRC32".to_owned()), ChecksumKind::Composite)
        );
        assert_eq!(
            upload_checksum(Some(&algo("CRC64NVME")), None).unwrap().1,
            ChecksumKind::FullObject
        );
        assert_eq!(
            upload_checksum(None, None).unwrap(),
            (None, ChecksumKind::FullObject)
        );
        assert!(upload_checksum(Some(&algo("SHA256")), Some(&kind("FULL_OBJECT"))).is_err());
        assert!(upload_checksum(Some(&algo("CRC64NVME")), Some(&kind("COMPOSITE"))).is_err());
        assert!(upload_checksum(None, Some(&kind("COMPOSITE"))).is_err());
        assert!(upload_checksum(Some(&algo("CRC32C")), Some(&kind("FULL_OBJECT"))).is_ok());
    }
}
