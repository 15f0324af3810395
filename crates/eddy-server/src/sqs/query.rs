//! The SQS query protocol's requests: form parameters (`Action=SendMessage&...`, with
//! flattened lists and maps such as `Attribute.1.Name` and
//! `SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue`) read into the
//! same typed input as a JSON body. The parameters form a tree of their dotted names,
//! which is presented to the input structs as a serde `Deserializer`: a flattened list
//! reads as a list, a flattened map as a map, any other group of parameters as an object,
//! and every value as a string. Answers are written by [`super::xml`].

use std::collections::BTreeMap;

use serde::de::value::{Error as FormError, MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};

use eddy_store::sqs::SqsError;

use super::operation::{SqsOperation, invalid_action};

/// How a flattened query collection maps onto a member of the model.
#[derive(Clone, Copy)]
enum Collection {
    /// `Name.N` → a list member.
    List(&'static str),
    /// `Name.N.<key>` / `Name.N.<value>` → a map member.
    Map {
        member: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

/// The flattened collections of the SQS query protocol, by their query name (the
/// model's `locationName`), with the JSON member names as aliases.
fn request_collection(name: &str) -> Option<Collection> {
    use Collection::{List, Map};
    let map = |member, key, value| Map { member, key, value };
    Some(match name {
        "Attribute" | "Attributes" => map("Attributes", "Name", "Value"),
        "Tag" | "Tags" | "tags" => map("Tags", "Key", "Value"),
        "MessageAttribute" | "MessageAttributes" => map("MessageAttributes", "Name", "Value"),
        "MessageSystemAttribute" | "MessageSystemAttributes" => {
            map("MessageSystemAttributes", "Name", "Value")
        }
        "AttributeName" | "AttributeNames" => List("AttributeNames"),
        "MessageAttributeName" | "MessageAttributeNames" => List("MessageAttributeNames"),
        "MessageSystemAttributeName" | "MessageSystemAttributeNames" => {
            List("MessageSystemAttributeNames")
        }
        "TagKey" | "TagKeys" => List("TagKeys"),
        "AWSAccountId" | "AWSAccountIds" => List("AWSAccountIds"),
        "ActionName" | "Actions" => List("Actions"),
        "StringListValue" | "StringListValues" => List("StringListValues"),
        "BinaryListValue" | "BinaryListValues" => List("BinaryListValues"),
        "SendMessageBatchRequestEntry"
        | "DeleteMessageBatchRequestEntry"
        | "ChangeMessageVisibilityBatchRequestEntry"
        | "Entries" => List("Entries"),
        _ => return None,
    })
}

/// Form parameters as a tree of their dotted names.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: String) {
        match path.split_first() {
            None => self.value = Some(value),
            Some((first, rest)) => self
                .children
                .entry((*first).to_owned())
                .or_default()
                .insert(rest, value),
        }
    }

    /// The children whose names are positive numbers, in numeric order.
    fn indexed(&self) -> Vec<&Node> {
        let mut items: Vec<(u64, &Node)> = self
            .children
            .iter()
            .filter_map(|(k, v)| k.parse::<u64>().ok().filter(|n| *n > 0).map(|n| (n, v)))
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A child by name, or by its lower-case name.
    fn child(&self, name: &str) -> Option<&Node> {
        self.children
            .get(name)
            .or_else(|| self.children.get(&name.to_ascii_lowercase()))
    }

    /// The members of a group of parameters, collections under their model names.
    fn members(&self) -> impl Iterator<Item = (&str, Form<'_>)> {
        self.children
            .iter()
            .map(|(name, child)| match request_collection(name) {
                Some(Collection::List(member)) => (member, Form::List(child)),
                Some(Collection::Map { member, key, value }) => (
                    member,
                    Form::Map {
                        node: child,
                        key,
                        value,
                    },
                ),
                None => (name.as_str(), Form::Node(child)),
            })
    }
}

/// A part of the form as serde reads it.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// A parameter (a string) or a group of parameters (an object).
    Node(&'a Node),
    /// A flattened list: the numbered children, in order.
    List(&'a Node),
    /// A flattened map: the numbered children's key and value parameters; a child
    /// without both is left out.
    Map {
        node: &'a Node,
        key: &'static str,
        value: &'static str,
    },
    /// A string that is not a parameter: a member name, the queue URL of the path.
    Text(&'a str),
}

impl<'de> Deserializer<'de> for Form<'de> {
    type Error = FormError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self {
            Form::Node(node) if node.children.is_empty() => {
                visitor.visit_borrowed_str(node.value.as_deref().unwrap_or(""))
            }
            Form::Node(node) => visitor.visit_map(MapDeserializer::new(
                node.members().map(|(name, form)| (Form::Text(name), form)),
            )),
            Form::List(node) => visitor.visit_seq(SeqDeserializer::new(
                node.indexed().into_iter().map(Form::Node),
            )),
            Form::Map { node, key, value } => {
                let entries = node.indexed().into_iter().filter_map(|entry| {
                    let name = entry.child(key)?;
                    let item = entry.child(value)?;
                    let name = name.value.as_deref().unwrap_or("");
                    Some((Form::Text(name), Form::Node(item)))
                });
                visitor.visit_map(MapDeserializer::new(entries))
            }
            Form::Text(text) => visitor.visit_borrowed_str(text),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, FormError> for Form<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// Reads a query request (query string and form body parameters together) into its
/// operation and input. `path` is the request path: query clients may post to the queue
/// URL instead of sending `QueueUrl`.
/// The parameters of a query request: its operation, or `Ok(None)` when it names no
/// `Action`.
pub fn parse_request(
    params: Vec<(String, String)>,
    path: &str,
) -> Result<Option<SqsOperation>, SqsError> {
    let mut root = Node::default();
    let mut action = None;
    for (name, value) in params {
        match name.as_str() {
            "Action" => action = Some(value),
            // Protocol and signature parameters, not operation input.
            "Version" | "SignatureVersion" | "SignatureMethod" | "Timestamp" | "Expires"
            | "AWSAccessKeyId" | "Signature" => {}
            _ if name.starts_with("X-Amz-") => {}
            _ => {
                let path: Vec<&str> = name.split('.').collect();
                root.insert(&path, value);
            }
        }
    }
    let Some(action) = action else {
        return Ok(None);
    };
    let mut members: Vec<(&str, Form<'_>)> = root.members().collect();
    // CreateQueue's tag member is lower-case `tags` in the model.
    if action == "CreateQueue" {
        for (name, _) in &mut members {
            if *name == "Tags" {
                *name = "tags";
            }
        }
    }
    let segments = path.split('/').filter(|s| !s.is_empty()).count();
    if segments == 2 && QUEUELESS_ACTIONS.contains(&action.as_str()) {
        return Err(invalid_action(&action));
    }
    if segments == 2 && !members.iter().any(|(name, _)| *name == "QueueUrl") {
        members.push(("QueueUrl", Form::Text(path)));
    }
    let input = MapDeserializer::new(
        members
            .into_iter()
            .map(|(name, form)| (Form::Text(name), form)),
    );
    SqsOperation::read(&action, input)
        .unwrap_or_else(|error: FormError| {
            Err(SqsError::invalid_parameter(format!(
                "The request parameters cannot be read: {error}"
            )))
        })
        .map(Some)
}

/// Actions that address no queue: SQS refuses them on a queue URL.
const QUEUELESS_ACTIONS: &[&str] = &["CreateQueue", "ListQueues"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::decode::Member;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn text(member: Member<String>) -> Option<String> {
        member.optional().expect("a string")
    }

    #[test]
    fn reads_flattened_batch_entries() {
        let request = parse_request(
            params(&[
                ("Action", "SendMessageBatch"),
                ("Version", "2012-11-05"),
                ("SendMessageBatchRequestEntry.2.Id", "b"),
                ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                    "color",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                    "String",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                    "red",
                ),
            ]),
            "/000000000000/q",
        )
        .expect("valid")
        .expect("an action");
        let SqsOperation::SendMessageBatch(input) = request else {
            panic!("{request:?}");
        };
        assert_eq!(text(input.queue_url).as_deref(), Some("/000000000000/q"));
        let entries = input.entries.optional().expect("a list").expect("sent");
        let ids: Vec<_> = entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, [Some("a".to_owned()), Some("b".to_owned())]);
        let mut entries = entries.into_iter();
        let first = entries.next().expect("two entries").message;
        assert_eq!(text(first.message_body).as_deref(), Some("one"));
        let color = &first.message_attributes["color"];
        assert_eq!(color.data_type.as_deref(), Some("String"));
        assert_eq!(color.string_value.as_deref(), Some("red"));
        let second = entries.next().expect("two entries").message;
        assert!(second.message_attributes.is_empty());
    }

    #[test]
    fn reads_queue_attributes_and_tags() {
        let request = parse_request(
            params(&[
                ("Action", "CreateQueue"),
                ("QueueName", "q"),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", "5"),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "data"),
            ]),
            "/",
        )
        .expect("valid")
        .expect("an action");
        let SqsOperation::CreateQueue(input) = request else {
            panic!("{request:?}");
        };
        assert_eq!(text(input.queue_name).as_deref(), Some("q"));
        let attributes = input.attributes.or_default().expect("a map");
        assert_eq!(attributes["VisibilityTimeout"], "5");
        let tags = input.tags.or_default().expect("a map");
        assert_eq!(tags["team"], "data");
    }

    #[test]
    fn refuses_missing_and_unknown_actions() {
        let missing = parse_request(params(&[("QueueName", "q")]), "/").expect("no action");
        assert!(missing.is_none());
        let on_queue = parse_request(params(&[("Action", "CreateQueue")]), "/000000000000/q")
            .expect_err("CreateQueue on a queue URL");
        assert_eq!(
            on_queue.message,
            "The action CreateQueue is not valid for this endpoint."
        );
        let unknown = parse_request(params(&[("Action", "Bogus")]), "/").expect_err("unknown");
        assert_eq!(
            unknown.message,
            "The action Bogus is not valid for this endpoint."
        );
    }
}
