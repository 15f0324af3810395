//! Queues of every region in one store. A queue's store name (the `queue` column of
//! every table) is its name for a queue of the store's own region (`settings.region`,
//! so every data directory eddy wrote before regions keeps its meaning) and
//! `<region>/<name>` for a queue of another region; `/` never occurs in a queue name.
//! ARNs and queue URLs carry the region and the bare name.

use eddy_events::arn::{parse_queue_arn, queue_arn};

/// The store name of queue `name` of `region`, in a store whose own region is `home`.
pub fn queue_key(home: &str, region: &str, name: &str) -> String {
    if region == home {
        name.to_owned()
    } else {
        format!("{region}/{name}")
    }
}

/// The region and the name of a store name.
pub fn split_queue_key<'a>(home: &'a str, key: &'a str) -> (&'a str, &'a str) {
    key.split_once('/').unwrap_or((home, key))
}

/// The ARN of the queue of a store name.
pub fn key_arn(home: &str, account_id: &str, key: &str) -> String {
    let (region, name) = split_queue_key(home, key);
    queue_arn(region, account_id, name)
}

/// The store name of queue `name` of the region of the queue stored as `key`.
pub fn sibling_key(key: &str, name: &str) -> String {
    match key.split_once('/') {
        Some((region, _)) => format!("{region}/{name}"),
        None => name.to_owned(),
    }
}

/// The store name of the queue an ARN names (any account: eddy serves one).
pub fn arn_key(home: &str, arn: &str) -> Option<String> {
    parse_queue_arn(arn).map(|a| queue_key(home, &a.region, &a.queue_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_round_trip() {
        assert_eq!(queue_key("us-east-1", "us-east-1", "q"), "q");
        assert_eq!(queue_key("us-east-1", "eu-west-1", "q"), "eu-west-1/q");
        assert_eq!(split_queue_key("us-east-1", "q"), ("us-east-1", "q"));
        assert_eq!(
            split_queue_key("us-east-1", "eu-west-1/q"),
            ("eu-west-1", "q")
        );
        assert_eq!(
            key_arn("us-east-1", "000000000000", "eu-west-1/q"),
            "arn:aws:sqs:eu-west-1:000000000000:q"
        );
        assert_eq!(
            arn_key("us-east-1", "arn:aws:sqs:eu-west-1:000000000000:q").as_deref(),
            Some("eu-west-1/q")
        );
        assert_eq!(
            arn_key("us-east-1", "arn:aws:sqs:us-east-1:000000000000:q").as_deref(),
            Some("q")
        );
    }
}
