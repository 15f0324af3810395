//! The MD5 digests SQS returns: of the body, and of the message attributes in AWS's
//! length-prefixed binary encoding.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use super::model::MessageAttributeValue;

/// Hex MD5 of some bytes.
pub fn md5_hex(bytes: &[u8]) -> String {
    let mut hasher = Md5::new();
    hasher.update(bytes);
    hex::encode(hasher.finalize().as_slice())
}

fn push_length_prefixed(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    buffer.extend_from_slice(bytes);
}

/// MD5OfMessageAttributes: attributes sorted by name; for each, the length-prefixed
/// name, the length-prefixed data type, a transport byte (1 string/number, 2 binary)
/// and the length-prefixed value. `None` when there are no attributes.
pub fn md5_of_message_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut buffer = Vec::new();
    for (name, value) in attributes {
        push_length_prefixed(&mut buffer, name.as_bytes());
        push_length_prefixed(&mut buffer, value.data_type.as_bytes());
        if value.data_type.starts_with("Binary") {
            buffer.push(2);
            push_length_prefixed(
                &mut buffer,
                value.binary_value.as_deref().unwrap_or_default(),
            );
        } else {
            buffer.push(1);
            push_length_prefixed(
                &mut buffer,
                value.string_value.as_deref().unwrap_or_default().as_bytes(),
            );
        }
    }
    Some(md5_hex(&buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(data_type: &str, value: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: data_type.into(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    #[test]
    fn body_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    /// Digests that moto's SQS test suite pins as what AWS returns.
    #[test]
    fn attribute_md5_matches_known_aws_values() {
        for (name, value, digest) in [
            (
                "timestamp",
                "1493147359900",
                "235c5c510d26fb653d073faed50ae77c",
            ),
            (
                "timestamp",
                "1493147359901",
                "994258b45346a2cc3f9cbb611aa7af30",
            ),
            (
                "SOME_Valid.attribute-Name",
                "1493147359900",
                "36655e7e9d7c0e8479fa3f3f42247ae7",
            ),
        ] {
            let attrs = BTreeMap::from([(name.to_owned(), string("Number", value))]);
            assert_eq!(md5_of_message_attributes(&attrs).as_deref(), Some(digest));
        }
        assert_eq!(md5_hex(b"derp"), "58fd9edd83341c29f1aebba81c31e257");
    }

    #[test]
    fn attribute_md5_matches_the_encoding() {
        // The digest of the buffer built by hand, per the documented encoding.
        let mut attrs = BTreeMap::new();
        attrs.insert("b".to_owned(), string("Number", "1"));
        attrs.insert("a".to_owned(), string("String", "x"));
        let mut buffer = Vec::new();
        for (name, ty, val) in [("a", "String", "x"), ("b", "Number", "1")] {
            buffer.extend_from_slice(&(name.len() as u32).to_be_bytes());
            buffer.extend_from_slice(name.as_bytes());
            buffer.extend_from_slice(&(ty.len() as u32).to_be_bytes());
            buffer.extend_from_slice(ty.as_bytes());
            buffer.push(1);
            buffer.extend_from_slice(&(val.len() as u32).to_be_bytes());
            buffer.extend_from_slice(val.as_bytes());
        }
        assert_eq!(md5_of_message_attributes(&attrs), Some(md5_hex(&buffer)));
        assert_eq!(md5_of_message_attributes(&BTreeMap::new()), None);
    }
}
