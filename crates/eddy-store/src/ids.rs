//! Random identifiers (message ids, receipt nonces, blob names, request ids) built from
//! a userspace random number generator: `rand`'s thread-local generator, seeded from the
//! operating system and reseeded periodically, instead of one `getrandom` system call
//! per id as `uuid::Uuid::new_v4` makes.

/// A random (version 4) UUID.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4_and_distinct() {
        let first = random_uuid();
        let second = random_uuid();
        assert_eq!(first.get_version_num(), 4);
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(first, second);
    }
}
