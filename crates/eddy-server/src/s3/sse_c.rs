//! Server-side encryption with customer-provided keys (SSE-C): the checks of the
//! `x-amz-server-side-encryption-customer-*` headers (and their `x-amz-copy-source-`
//! forms) on a write of an object and on a read of an object stored with them, and
//! the two headers a response echoes. eddy keeps only the key's MD5 in the object's
//! attributes, never the key, and does not encrypt the bytes on its disk.

use base64::Engine as _;
use md5::{Digest, Md5};
use s3s::dto::{ServerSideEncryption, ServerSideEncryptionConfiguration};
use s3s::{S3Result, s3_error};

use eddy_store::s3::KmsEncryption;

use super::bucket_config::encryption::new_object_encryption;
use super::errors::with_elements;

/// The only algorithm S3 accepts for SSE-C.
const AES256: &str = "AES256";

/// The SSE-C headers of a request, as `s3s` parsed them: the customer's own
/// (`x-amz-server-side-encryption-customer-*`) or those of a copy's source.
#[derive(Clone, Copy)]
pub(super) struct CustomerKey<'a> {
    pub algorithm: Option<&'a str>,
    pub key: Option<&'a str>,
    pub key_md5: Option<&'a str>,
    /// The header S3 names in its errors (`ArgumentName`).
    argument: &'static str,
}

/// The [`CustomerKey`] of a request's input (`x-amz-server-side-encryption-customer-*`).
macro_rules! customer_key {
    ($input:expr) => {
        $crate::s3::sse_c::CustomerKey::of(
            $input.sse_customer_algorithm.as_ref(),
            $input.sse_customer_key.as_ref(),
            $input.sse_customer_key_md5.as_ref(),
        )
    };
}
pub(super) use customer_key;

/// The [`CustomerKey`] of a copy's source (`x-amz-copy-source-server-side-encryption-customer-*`).
macro_rules! copy_source_key {
    ($input:expr) => {
        $crate::s3::sse_c::CustomerKey::of_copy_source(
            $input.copy_source_sse_customer_algorithm.as_ref(),
            $input.copy_source_sse_customer_key.as_ref(),
            $input.copy_source_sse_customer_key_md5.as_ref(),
        )
    };
}
pub(super) use copy_source_key;

/// [`new_object_keys`] of a request's `input` (PutObject, CopyObject and
/// CreateMultipartUpload name the encryption fields alike) in a bucket whose
/// configurations (`bucket_config::new_object::NewObjectConfigs`) are `configs`.
macro_rules! requested_keys {
    ($configs:expr, $input:expr) => {
        $crate::s3::sse_c::new_object_keys(
            &$configs.encryption,
            $crate::s3::sse_c::customer_key!($input),
            $input.server_side_encryption.as_ref(),
            $input.ssekms_key_id.as_ref(),
            $input.bucket_key_enabled,
        )
    };
}
pub(super) use requested_keys;

/// The encryption of a new object: the MD5 of the customer's key it is stored with
/// (SSE-C), or else the KMS encryption its request or its bucket's default gives
/// (`None`: SSE-S3). `default` is the bucket's.
pub(super) fn new_object_keys(
    default: &ServerSideEncryptionConfiguration,
    customer: CustomerKey<'_>,
    sse: Option<&ServerSideEncryption>,
    kms_key_id: Option<&String>,
    bucket_key: Option<bool>,
) -> S3Result<(Option<String>, Option<KmsEncryption>)> {
    match customer.for_write(sse)? {
        // An object stored with a customer's key has no other encryption.
        Some(md5) => Ok((Some(md5), None)),
        None => Ok((
            None,
            new_object_encryption(default, sse, kms_key_id, bucket_key)?,
        )),
    }
}

impl<'a> CustomerKey<'a> {
    /// The headers `x-amz-server-side-encryption-customer-*` of a request.
    pub fn of(
        algorithm: Option<&'a String>,
        key: Option<&'a String>,
        key_md5: Option<&'a String>,
    ) -> Self {
        Self {
            algorithm: algorithm.map(String::as_str),
            key: key.map(String::as_str),
            key_md5: key_md5.map(String::as_str),
            argument: "x-amz-server-side-encryption",
        }
    }

    /// The headers `x-amz-copy-source-server-side-encryption-customer-*` of a copy.
    pub fn of_copy_source(
        algorithm: Option<&'a String>,
        key: Option<&'a String>,
        key_md5: Option<&'a String>,
    ) -> Self {
        Self {
            argument: "x-amz-copy-source-server-side-encryption",
            ..Self::of(algorithm, key, key_md5)
        }
    }

    fn is_empty(&self) -> bool {
        self.algorithm.is_none() && self.key.is_none() && self.key_md5.is_none()
    }

    /// For a write: the MD5 (base64) of the key the new object is stored with, or
    /// `None` when the request does not ask for SSE-C. `sse` is the request's
    /// `x-amz-server-side-encryption`, which S3 refuses alongside SSE-C.
    pub fn for_write(self, sse: Option<&ServerSideEncryption>) -> S3Result<Option<String>> {
        if self.is_empty() {
            return Ok(None);
        }
        if let Some(sse) = sse {
            return Err(with_elements(
                s3_error!(
                    InvalidArgument,
                    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
                ),
                &[
                    ("ArgumentName", "x-amz-server-side-encryption"),
                    ("ArgumentValue", sse.as_str()),
                ],
            ));
        }
        self.checked(true).map(Some)
    }

    /// For a read of an object whose key's MD5 is `stored` (`None`: not SSE-C).
    pub fn for_read(self, stored: Option<&str>) -> S3Result<()> {
        match stored {
            None if self.is_empty() => Ok(()),
            None => {
                self.checked(false)?;
                Err(s3_error!(
                    InvalidRequest,
                    "The encryption parameters are not applicable to this object."
                ))
            }
            Some(_) if self.is_empty() => Err(s3_error!(
                InvalidRequest,
                "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
            )),
            Some(stored) => {
                if self.checked(false)? == stored {
                    Ok(())
                } else {
                    Err(s3_error!(AccessDenied, "Access Denied"))
                }
            }
        }
    }

    /// For a part of a multipart upload whose key's MD5 is `stored`: the part's
    /// headers must name the upload's key (or none, for an upload without SSE-C).
    pub fn for_part(self, stored: Option<&str>) -> S3Result<()> {
        match stored {
            Some(_) if self.is_empty() => Err(s3_error!(
                InvalidRequest,
                "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
            )),
            None if self.is_empty() => Ok(()),
            _ => {
                if Some(self.checked(true)?.as_str()) == stored {
                    Ok(())
                } else {
                    Err(s3_error!(
                        InvalidRequest,
                        "The provided encryption parameters did not match the ones used originally."
                    ))
                }
            }
        }
    }

    /// The MD5 (base64) of a well-formed key, checked against the one given.
    fn checked(self, md5_required: bool) -> S3Result<String> {
        let null = |error| {
            with_elements(
                error,
                &[("ArgumentName", self.argument), ("ArgumentValue", "null")],
            )
        };
        let Some(algorithm) = self.algorithm else {
            return Err(null(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."
            )));
        };
        if algorithm != AES256 {
            return Err(with_elements(
                s3_error!(
                    InvalidEncryptionAlgorithmError,
                    "The Encryption request you specified is not valid. Supported value: AES256."
                ),
                &[
                    ("ArgumentName", self.argument),
                    ("ArgumentValue", algorithm),
                ],
            ));
        }
        let Some(key) = self.key else {
            return Err(null(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."
            )));
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(key)
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| {
                null(s3_error!(
                    InvalidArgument,
                    "The secret key was invalid for the specified algorithm."
                ))
            })?;
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&key).as_slice());
        match self.key_md5 {
            Some(given) if given != md5 => Err(null(s3_error!(
                InvalidArgument,
                "The calculated MD5 hash of the key did not match the hash that was provided."
            ))),
            None if md5_required => Err(null(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."
            ))),
            _ => Ok(md5),
        }
    }
}

/// What a response tells of an object's encryption.
pub(super) struct Echoed {
    /// `x-amz-server-side-encryption`: left out for an SSE-C object.
    pub sse: Option<ServerSideEncryption>,
    /// `x-amz-server-side-encryption-customer-algorithm`, for an SSE-C object.
    pub algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key-MD5`, for an SSE-C object.
    pub key_md5: Option<String>,
}

/// The encryption headers of a response about an object stored with the key whose
/// MD5 is `key_md5` (`None`: not SSE-C, so `sse` is reported).
pub(super) fn echoed(key_md5: Option<&String>, sse: ServerSideEncryption) -> Echoed {
    match key_md5 {
        Some(md5) => Echoed {
            sse: None,
            algorithm: Some(AES256.to_owned()),
            key_md5: Some(md5.clone()),
        },
        None => Echoed {
            sse: Some(sse),
            algorithm: None,
            key_md5: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=";
    const MD5: &str = "DWygnHRtgiJ77HCm+1rvHw==";

    fn headers(
        algorithm: Option<&'static str>,
        key: Option<&'static str>,
        md5: Option<&'static str>,
    ) -> CustomerKey<'static> {
        CustomerKey {
            algorithm,
            key,
            key_md5: md5,
            argument: "x-amz-server-side-encryption",
        }
    }

    #[test]
    fn a_valid_key_gives_its_md5() {
        let md5 = headers(Some("AES256"), Some(KEY), Some(MD5))
            .for_write(None)
            .unwrap();
        assert_eq!(md5.as_deref(), Some(MD5));
        assert_eq!(headers(None, None, None).for_write(None).unwrap(), None);
    }

    #[test]
    fn bad_headers_are_refused() {
        let code = |h: CustomerKey<'static>| h.for_write(None).unwrap_err().code().clone();
        assert_eq!(
            code(headers(
                Some("AES256"),
                Some(KEY),
                Some("AAAAAAAAAAAAAAAAAAAAAA==")
            )),
            s3s::S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(headers(Some("AES256"), Some("c2hvcnQ="), None)),
            s3s::S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(headers(Some("AES256"), Some(KEY), None)),
            s3s::S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(headers(None, Some(KEY), Some(MD5))),
            s3s::S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(headers(Some("AES128"), Some(KEY), Some(MD5))),
            s3s::S3ErrorCode::InvalidEncryptionAlgorithmError
        );
    }

    #[test]
    fn a_read_needs_the_same_key() {
        let code = |h: CustomerKey<'static>, stored| h.for_read(stored).unwrap_err().code().clone();
        assert_eq!(
            code(headers(None, None, None), Some(MD5)),
            s3s::S3ErrorCode::InvalidRequest
        );
        let other = "6b+WOZ1T3cqZMxgThRcXAQBrS5mXKdDUphvpxptl9/4=";
        assert_eq!(
            code(headers(Some("AES256"), Some(other), None), Some(MD5)),
            s3s::S3ErrorCode::AccessDenied
        );
        assert_eq!(
            code(headers(Some("AES256"), Some(KEY), Some(MD5)), None),
            s3s::S3ErrorCode::InvalidRequest
        );
        headers(Some("AES256"), Some(KEY), None)
            .for_read(Some(MD5))
            .unwrap();
        headers(None, None, None).for_read(None).unwrap();
    }
}
