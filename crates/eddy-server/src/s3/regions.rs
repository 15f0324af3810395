//! S3's regions: the names S3 knows (the `BucketLocationConstraint` values of the S3
//! model, plus `us-east-1`, which is named by leaving the constraint out), and what a
//! `LocationConstraint` means (`EU` is the old name of `eu-west-1`).

/// The region of requests and buckets that name none: where S3 began.
pub(super) const US_EAST_1: &str = "us-east-1";

/// Every region S3 serves besides `us-east-1` (botocore's `BucketLocationConstraint`,
/// without `EU`).
const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Whether S3 serves region `name`. `home`, the configured region of eddy, is always
/// served (it may be a name of the operator's choosing).
pub(super) fn is_region(name: &str, home: &str) -> bool {
    name == US_EAST_1 || name == home || REGIONS.contains(&name)
}

/// The region a `LocationConstraint` names; `None` for a name S3 does not know (or
/// for `us-east-1`, which is named by leaving the constraint out).
pub(super) fn constraint_region<'a>(constraint: &'a str, home: &str) -> Option<&'a str> {
    match constraint {
        "EU" => Some("eu-west-1"),
        US_EAST_1 => None,
        name if is_region(name, home) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_constraints() {
        assert!(is_region("eu-west-1", "us-east-1"));
        assert!(is_region("us-east-1", "us-east-1"));
        assert!(is_region("local", "local"));
        assert!(!is_region("eu-middle-9", "us-east-1"));
        assert!(!is_region("s3", "us-east-1"));
        assert_eq!(constraint_region("EU", "us-east-1"), Some("eu-west-1"));
        assert_eq!(
            constraint_region("ap-south-2", "us-east-1"),
            Some("ap-south-2")
        );
        assert_eq!(constraint_region("us-east-1", "us-east-1"), None);
        assert_eq!(constraint_region("moon-base-1", "us-east-1"), None);
    }
}
