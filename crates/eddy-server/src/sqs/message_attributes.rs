//! Message attributes on the wire: the model's `MessageAttributeValue` (also its
//! `MessageSystemAttributeValue`), read from SendMessage and written in ReceiveMessage,
//! and the `MessageAttributeNames` filters of a receive. Binary values are base64 on the
//! wire in both protocols; the store keeps the bytes.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

use eddy_store::sqs::{self as store, SqsError};

use super::decode::shape;

shape! {
    /// A message attribute's value. Read leniently, as eddy always has: a member of
    /// another type than string counts as absent (a missing `DataType` is then refused
    /// by [`to_engine`]); the list members of the model are not read.
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct MessageAttributeValue {
        /// Base64.
        #[serde(skip_serializing_if = "Option::is_none")]
        "BinaryValue" => binary_value: Option<String>,
        "DataType" => data_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        "StringValue" => string_value: Option<String>,
    }
}

/// The attributes of a message to send, checked, in name order: each needs a `DataType`,
/// a binary value must be base64.
pub fn to_engine(
    attributes: BTreeMap<String, MessageAttributeValue>,
) -> Result<BTreeMap<String, store::MessageAttributeValue>, SqsError> {
    attributes
        .into_iter()
        .map(|(name, value)| {
            let data_type = value.data_type.ok_or_else(|| {
                SqsError::invalid_parameter(format!(
                    "The message attribute '{name}' must contain a DataType."
                ))
            })?;
            let binary_value = match value.binary_value {
                Some(b64) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|_| {
                            SqsError::invalid_parameter(format!(
                                "The binary value of '{name}' is not base64."
                            ))
                        })?,
                ),
                None => None,
            };
            let value = store::MessageAttributeValue {
                data_type,
                string_value: value.string_value,
                binary_value,
            };
            Ok((name, value))
        })
        .collect()
}

/// A stored attribute as the wire shows it.
pub fn from_engine(value: store::MessageAttributeValue) -> MessageAttributeValue {
    MessageAttributeValue {
        binary_value: value
            .binary_value
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
        data_type: Some(value.data_type),
        string_value: value.string_value,
    }
}

/// Whether a message attribute name is selected by MessageAttributeNames: `All`, `.*`
/// and `*` select every name; `prefix.*` and `prefix*` the names that start with the
/// prefix (as on SQS, `Hel.*` selects `Hello` as well as `Help.Me`); any other filter
/// its exact name.
pub fn attribute_selected(filters: &[String], name: &str) -> bool {
    filters.iter().any(|f| {
        f == "All"
            || f == name
            || f.strip_suffix(".*")
                .or_else(|| f.strip_suffix('*'))
                .is_some_and(|prefix| name.starts_with(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::attribute_selected;

    #[test]
    fn attribute_name_filters() {
        let f = |list: &[&str]| {
            list.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert!(attribute_selected(&f(&["All"]), "x"));
        assert!(attribute_selected(&f(&[".*"]), "x"));
        assert!(attribute_selected(&f(&["*"]), "x"));
        assert!(attribute_selected(&f(&["foo.*"]), "foo.bar"));
        assert!(attribute_selected(&f(&["foo.*"]), "foobar"));
        assert!(attribute_selected(&f(&["Hel.*"]), "Help.Me"));
        assert!(!attribute_selected(&f(&["foo.*"]), "fo"));
        assert!(attribute_selected(&f(&["exact"]), "exact"));
        assert!(!attribute_selected(&f(&[]), "x"));
    }
}
