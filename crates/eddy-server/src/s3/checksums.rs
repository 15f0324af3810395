//! Integrity of request bodies: Content-MD5 and the five checksum algorithms, given in
//! headers or in an aws-chunked trailer, checked against the bytes received while
//! they are staged; and the checksums an answer reports. Depends on `errors` and
//! `limits`.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use s3s::dto::{ChecksumAlgorithm, ChecksumType, StreamingBlob};
use s3s::{S3Request, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::blobs::{Placement, StagedBlob};
use eddy_store::s3::ObjectMeta;

use super::errors::stage_error;
use super::limits::MAX_PUT_BYTES;

/// What a request says about the trailer after its aws-chunked body: the checksum it
/// declared in `x-amz-trailer`, and a handle to the trailing headers, which hold values
/// only once the body has been read to its end.
#[derive(Default)]
pub(super) struct Trailer {
    pub(super) declared: Option<http::HeaderValue>,
    handle: Option<s3s::TrailingHeaders>,
}

impl Trailer {
    pub(super) fn of<T>(req: &S3Request<T>) -> Self {
        Self {
            declared: req.headers.get("x-amz-trailer").cloned(),
            handle: req.trailing_headers.clone(),
        }
    }

    /// The trailing headers; call after the body has been read.
    pub(super) fn values(&self) -> Option<http::HeaderMap> {
        self.handle.as_ref().and_then(s3s::TrailingHeaders::take)
    }
}

/// Checksum algorithms by name, with the header (or trailer) that carries each.
pub(super) const TRAILER_HEADERS: [(&str, &str); 5] = [
    ("CRC32", "x-amz-checksum-crc32"),
    ("CRC32C", "x-amz-checksum-crc32c"),
    ("SHA1", "x-amz-checksum-sha1"),
    ("SHA256", "x-amz-checksum-sha256"),
    ("CRC64NVME", "x-amz-checksum-crc64nvme"),
];

/// The checksums a request asks to be checked, by algorithm name.
pub(super) struct ChecksumRequest {
    hasher: s3s::checksum::ChecksumHasher,
    expected: BTreeMap<&'static str, String>,
}

impl ChecksumRequest {
    /// `algorithm` is `x-amz-sdk-checksum-algorithm`, `given` the checksum headers, and
    /// `declared_trailer` the `x-amz-trailer` header naming a checksum that follows the body.
    pub(super) fn new(
        algorithm: Option<&ChecksumAlgorithm>,
        given: [(&'static str, Option<&String>); 5],
        declared_trailer: Option<&http::HeaderValue>,
    ) -> S3Result<Self> {
        let mut hasher = s3s::checksum::ChecksumHasher::default();
        let mut expected = BTreeMap::new();
        if let Some(algorithm) = algorithm {
            let name = algorithm.as_str().to_ascii_uppercase();
            if !TRAILER_HEADERS.iter().any(|(known, _)| *known == name) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Value for x-amz-checksum-algorithm header is invalid."
                ));
            }
            enable(&name, &mut hasher);
        }
        if let Some(trailer) = declared_trailer {
            let trailer = trailer
                .to_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match TRAILER_HEADERS
                .iter()
                .find(|(_, header)| *header == trailer)
            {
                Some((name, _)) => enable(name, &mut hasher),
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The value specified in the x-amz-trailer header is not supported"
                    ));
                }
            }
        }
        for (name, value) in given {
            if let Some(value) = value {
                enable(name, &mut hasher);
                expected.insert(name, value.clone());
            }
        }
        Ok(Self { hasher, expected })
    }

    /// A computation of one algorithm's checksum, checked against nothing.
    pub(super) fn computing(name: &str) -> Self {
        Self {
            hasher: s3s::checksum::ChecksumHasher::default(),
            expected: BTreeMap::new(),
        }
        .with_algorithm(name)
    }

    /// The algorithms whose checksums this request computes, by name.
    pub(super) fn algorithms(&self) -> Vec<&'static str> {
        let h = &self.hasher;
        [
            ("CRC32", h.crc32.is_some()),
            ("CRC32C", h.crc32c.is_some()),
            ("SHA1", h.sha1.is_some()),
            ("SHA256", h.sha256.is_some()),
            ("CRC64NVME", h.crc64nvme.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }

    /// Computes the checksum of `name` too (one S3 stores without being asked).
    pub(super) fn with_algorithm(mut self, name: &str) -> Self {
        enable(name, &mut self.hasher);
        self
    }

    /// Feeds bytes to the checksums (for bytes not read from a request body).
    pub(super) fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// S3's default data integrity (since December 2024): an object that arrives with
    /// no checksum gets a full-object CRC64NVME.
    pub(super) fn with_default_crc64nvme(mut self) -> Self {
        let h = &self.hasher;
        let none = h.crc32.is_none()
            && h.crc32c.is_none()
            && h.sha1.is_none()
            && h.sha256.is_none()
            && h.crc64nvme.is_none();
        if none {
            self.hasher.crc64nvme = Some(Default::default());
        }
        self
    }

    /// Compares the computed checksums with the header or trailer values; returns the
    /// checksums to store.
    pub(super) fn finish(
        self,
        trailers: Option<http::HeaderMap>,
    ) -> S3Result<BTreeMap<String, String>> {
        let mut expected = self.expected;
        if let Some(trailers) = trailers {
            for (name, header) in TRAILER_HEADERS {
                if let Some(value) = trailers.get(header) {
                    let value = value
                        .to_str()
                        .map_err(|_| s3_error!(InvalidArgument, "invalid checksum trailer"))?;
                    expected.insert(name, value.to_owned());
                }
            }
        }
        let finished = self.hasher.finalize();
        let computed: BTreeMap<&str, String> = [
            ("CRC32", finished.checksum_crc32),
            ("CRC32C", finished.checksum_crc32c),
            ("SHA1", finished.checksum_sha1),
            ("SHA256", finished.checksum_sha256),
            ("CRC64NVME", finished.checksum_crc64nvme),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
        for (name, want) in &expected {
            match computed.get(name) {
                // A checksum that arrived in a trailer nobody declared was not computed;
                // S3 does not store a checksum it could not check, and neither does eddy.
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The {} trailer was sent without being declared in x-amz-trailer.",
                        name
                    ));
                }
                Some(value) if value != want => {
                    return Err(s3_error!(
                        BadDigest,
                        "The {} you specified did not match the calculated checksum.",
                        name
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(computed
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect())
    }
}

/// Turns on the checksum of algorithm `name` (S3's spelling) in `hasher`.
fn enable(name: &str, hasher: &mut s3s::checksum::ChecksumHasher) {
    match name {
        "CRC32" => hasher.crc32 = Some(Default::default()),
        "CRC32C" => hasher.crc32c = Some(Default::default()),
        "SHA1" => hasher.sha1 = Some(Default::default()),
        "SHA256" => hasher.sha256 = Some(Default::default()),
        "CRC64NVME" => hasher.crc64nvme = Some(Default::default()),
        _ => {}
    }
}

/// Stages a request body and checks it against Content-MD5 and the checksums in
/// headers or trailers; returns the staged file and the checksums to store.
pub(super) async fn receive_body(
    store: &Store,
    body: Option<StreamingBlob>,
    mut checksums: ChecksumRequest,
    content_md5: Option<&String>,
    trailer: &Trailer,
    placement: Placement,
) -> S3Result<(StagedBlob, BTreeMap<String, String>)> {
    let body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
    let staged = stage_body(store, body, &mut checksums, MAX_PUT_BYTES, placement).await?;
    // The body has been read to its end, so its trailer (if any) has arrived.
    let verified =
        check_content_md5(content_md5, &staged).and_then(|()| checksums.finish(trailer.values()));
    match verified {
        Ok(stored) => Ok((staged, stored)),
        Err(error) => {
            store.blobs().discard(staged).await;
            Err(error)
        }
    }
}

/// Streams a request body to the staging area while hashing it.
async fn stage_body<S, E>(
    store: &Store,
    body: S,
    checksums: &mut ChecksumRequest,
    limit: u64,
    placement: Placement,
) -> S3Result<StagedBlob>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let hasher = &mut checksums.hasher;
    let stream = body.inspect_ok(|chunk| hasher.update(chunk));
    store
        .blobs()
        .stage(stream, limit, placement)
        .await
        .map_err(stage_error)
}

/// The full-object checksum of `algorithm` over the bytes of a stored object (a copy
/// that asks for another algorithm, or of an object whose checksum does not carry).
pub(super) async fn checksum_of_object(
    store: &Store,
    meta: &ObjectMeta,
    algorithm: &str,
) -> S3Result<BTreeMap<String, String>> {
    let content = store
        .objects()
        .open_blob(&meta.blob)
        .await
        .map_err(|e| s3_error!(e, NoSuchKey, "The specified key does not exist."))?;
    let mut stream = content
        .into_stream(0, meta.size)
        .await
        .map_err(|e| s3_error!(e, InternalError))?;
    let mut checksums = ChecksumRequest::computing(algorithm);
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| s3_error!(e, InternalError))?
    {
        checksums.update(&chunk);
    }
    checksums.finish(None)
}

/// Stages `length` bytes of a stored blob from `start` as a part (UploadPartCopy),
/// computing `checksums` over them.
pub(super) async fn stage_copied_part(
    store: &Store,
    blob: &str,
    start: u64,
    length: u64,
    mut checksums: ChecksumRequest,
) -> S3Result<(StagedBlob, BTreeMap<String, String>)> {
    let content = store
        .objects()
        .open_blob(blob)
        .await
        .map_err(|e| s3_error!(e, NoSuchKey, "The specified key does not exist."))?;
    let stream = content
        .into_stream(start, length)
        .await
        .map_err(|e| s3_error!(e, InternalError))?;
    let staged = stage_body(store, stream, &mut checksums, length, Placement::File).await?;
    match checksums.finish(None) {
        Ok(computed) => Ok((staged, computed)),
        Err(error) => {
            store.blobs().discard(staged).await;
            Err(error)
        }
    }
}

fn check_content_md5(content_md5: Option<&String>, staged: &StagedBlob) -> S3Result<()> {
    use base64::Engine as _;
    let Some(given) = content_md5 else {
        return Ok(());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(given)
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if decoded.as_slice() != staged.md5.as_slice() {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

/// The checksum type of an object: as recorded; for an object stored before eddy
/// recorded it, `FULL_OBJECT` for one uploaded in one piece with a checksum; `None`
/// for one without a checksum.
pub(super) fn checksum_type(meta: &ObjectMeta) -> Option<ChecksumType> {
    if meta.attrs.checksums.is_empty() {
        return None;
    }
    match meta.attrs.checksum_type {
        Some(kind) => Some(ChecksumType::from(kind.as_str().to_owned())),
        None => meta
            .attrs
            .part_sizes
            .is_empty()
            .then(|| ChecksumType::from(ChecksumType::FULL_OBJECT.to_owned())),
    }
}

/// The algorithms of an object's checksums, as listings report them.
pub(super) fn checksum_algorithms(meta: &ObjectMeta) -> Option<Vec<ChecksumAlgorithm>> {
    let algorithms: Vec<ChecksumAlgorithm> = meta
        .attrs
        .checksums
        .keys()
        .map(|name| ChecksumAlgorithm::from(name.clone()))
        .collect();
    (!algorithms.is_empty()).then_some(algorithms)
}

/// The checksums an answer reports, in the order CRC32, CRC32C, SHA1, SHA256,
/// CRC64NVME; none unless `enabled`.
pub(super) fn checksum_fields(meta: &ObjectMeta, enabled: bool) -> [Option<String>; 5] {
    if !enabled {
        return Default::default();
    }
    let get = |name: &str| meta.attrs.checksums.get(name).cloned();
    [
        get("CRC32"),
        get("CRC32C"),
        get("SHA1"),
        get("SHA256"),
        get("CRC64NVME"),
    ]
}

/// The checksums (and type) a GetObject or HeadObject answers with: none unless
/// `ChecksumMode=ENABLED`; the object's for a read of the whole object; a part's for
/// a read of one part of a multipart object (with the object's checksum type).
pub(super) fn read_checksums(
    meta: &ObjectMeta,
    enabled: bool,
    whole: bool,
    part_number: Option<i32>,
) -> ([Option<String>; 5], Option<ChecksumType>) {
    if !enabled {
        return Default::default();
    }
    if whole {
        return (checksum_fields(meta, true), checksum_type(meta));
    }
    let part = part_number
        .and_then(|n| usize::try_from(n).ok()?.checked_sub(1))
        .and_then(|i| meta.attrs.part_checksums.get(i))
        .filter(|sums| !sums.is_empty());
    match part {
        Some(sums) => {
            let get = |name: &str| sums.get(name).cloned();
            (
                [
                    get("CRC32"),
                    get("CRC32C"),
                    get("SHA1"),
                    get("SHA256"),
                    get("CRC64NVME"),
                ],
                checksum_type(meta),
            )
        }
        None => Default::default(),
    }
}
