//! S3's limits on what a request may name or carry: key length, the size of a single
//! PUT, user metadata, part numbers. (The limit on XML request bodies is enforced
//! before `s3s` reads them, in `front::xml_body`.) A leaf: no other module of `s3`.

use s3s::{S3Result, s3_error};

/// The largest single PUT S3 accepts (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The largest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// S3 limits user-defined metadata to 2 KB: the UTF-8 bytes of every key and value.
pub const MAX_USER_METADATA_BYTES: usize = 2048;

pub(super) fn check_key(key: &str) -> S3Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(s3_error!(KeyTooLongError, "Your key is too long"));
    }
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "The key must not be empty"));
    }
    Ok(())
}

pub(super) fn check_part_number(part_number: i32) -> S3Result<()> {
    if !(1..=10_000).contains(&part_number) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}
