//! The SQS query protocol: form parameters (`Action=SendMessage&Version=2012-11-05&...`)
//! in, XML out. Requests are translated into the JSON input shape of the operation, so
//! both protocols run the same [`super::operations`]; the JSON output is then written in
//! the query protocol's XML shape (flattened lists and maps, one `<XResult>` element).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use eddy_store::sqs::SqsError;

/// The XML namespace of every SQS query response.
pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// How a flattened query collection maps onto a JSON member.
#[derive(Clone, Copy)]
enum Collection {
    /// `Name.N` → a JSON list.
    List(&'static str),
    /// `Name.N.<key>` / `Name.N.<value>` → a JSON map.
    Map {
        json: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

/// The flattened collections of the SQS query protocol, by their query name (the
/// model's `locationName`), with the JSON member names as aliases.
fn request_collection(name: &str) -> Option<Collection> {
    use Collection::*;
    let map = |json, key, value| Map { json, key, value };
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

    fn to_json(&self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.value.clone().unwrap_or_default());
        }
        let mut out = Map::new();
        for (name, child) in &self.children {
            match request_collection(name) {
                Some(Collection::List(json)) => {
                    let items = child.indexed().into_iter().map(Node::to_json).collect();
                    out.insert(json.to_owned(), Value::Array(items));
                }
                Some(Collection::Map { json, key, value }) => {
                    let mut map = Map::new();
                    for entry in child.indexed() {
                        let name = entry
                            .children
                            .get(key)
                            .or_else(|| entry.children.get(&key.to_ascii_lowercase()));
                        let item = entry
                            .children
                            .get(value)
                            .or_else(|| entry.children.get(&value.to_ascii_lowercase()));
                        if let (Some(name), Some(item)) = (name, item) {
                            map.insert(name.value.clone().unwrap_or_default(), item.to_json());
                        }
                    }
                    out.insert(json.to_owned(), Value::Object(map));
                }
                None => {
                    out.insert(name.clone(), child.to_json());
                }
            }
        }
        Value::Object(out)
    }
}

/// A query request: its action and its input in the JSON shape.
pub struct QueryRequest {
    pub action: String,
    pub input: Value,
}

/// Translates the form parameters of a query request (query string and form body
/// together) into the operation name and its JSON input. `path` is the request path:
/// query clients post to the queue URL instead of sending `QueueUrl`.
pub fn parse_request(params: Vec<(String, String)>, path: &str) -> Result<QueryRequest, SqsError> {
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
    let action = action.ok_or_else(|| SqsError::missing_parameter("Action"))?;
    let mut input = if root.children.is_empty() {
        Value::Object(Map::new())
    } else {
        root.to_json()
    };
    if let Value::Object(map) = &mut input {
        // CreateQueue's tag member is lower-case `tags` in the model.
        if action == "CreateQueue"
            && let Some(tags) = map.remove("Tags")
        {
            map.insert("tags".to_owned(), tags);
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() == 2 && !map.contains_key("QueueUrl") {
            map.insert("QueueUrl".to_owned(), Value::String(path.to_owned()));
        }
    }
    Ok(QueryRequest { action, input })
}

/// The element name of a JSON output member in the query protocol's XML, and how its
/// value is laid out.
enum OutputMember {
    /// A flattened list: each item is one element of this name.
    List(&'static str),
    /// A flattened map: each entry is one element with a key and a value child.
    Map {
        element: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

fn output_member(action: &str, name: &str) -> Option<OutputMember> {
    use OutputMember::*;
    let map = |element, key, value| Map {
        element,
        key,
        value,
    };
    Some(match name {
        "QueueUrls" | "queueUrls" => List("QueueUrl"),
        "Attributes" => map("Attribute", "Name", "Value"),
        "MessageAttributes" => map("MessageAttribute", "Name", "Value"),
        "Tags" => map("Tag", "Key", "Value"),
        "Messages" => List("Message"),
        "Failed" => List("BatchResultErrorEntry"),
        "Results" => List("Result"),
        "StringListValues" => List("StringListValue"),
        "BinaryListValues" => List("BinaryListValue"),
        "Successful" => List(match action {
            "SendMessageBatch" => "SendMessageBatchResultEntry",
            "DeleteMessageBatch" => "DeleteMessageBatchResultEntry",
            _ => "ChangeMessageVisibilityBatchResultEntry",
        }),
        _ => return None,
    })
}

/// Escapes text for an XML element; carriage returns are kept as character references
/// so that parsers do not normalise them away.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
    out
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(&escape(s)),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

fn write_element(out: &mut String, action: &str, name: &str, value: &Value) {
    match (output_member(action, name), value) {
        (Some(OutputMember::List(element)), Value::Array(items)) => {
            for item in items {
                write_element(out, action, element, item);
            }
        }
        (
            Some(OutputMember::Map {
                element,
                key,
                value,
            }),
            Value::Object(map),
        ) => {
            for (k, v) in map {
                out.push_str(&format!("<{element}><{key}>{}</{key}>", escape(k)));
                write_element(out, action, value, v);
                out.push_str(&format!("</{element}>"));
            }
        }
        (_, Value::Object(map)) => {
            out.push_str(&format!("<{name}>"));
            write_members(out, action, map);
            out.push_str(&format!("</{name}>"));
        }
        (_, scalar) => {
            out.push_str(&format!("<{name}>"));
            write_scalar(out, scalar);
            out.push_str(&format!("</{name}>"));
        }
    }
}

fn write_members(out: &mut String, action: &str, members: &Map<String, Value>) {
    for (name, value) in members {
        write_element(out, action, name, value);
    }
}

/// Operations whose model has no output shape: their response has no `<XResult>`.
fn has_result(action: &str) -> bool {
    !matches!(
        action,
        "AddPermission"
            | "ChangeMessageVisibility"
            | "DeleteMessage"
            | "DeleteQueue"
            | "PurgeQueue"
            | "RemovePermission"
            | "SetQueueAttributes"
            | "TagQueue"
            | "UntagQueue"
    )
}

/// The XML response of a successful query request.
pub fn response_xml(action: &str, output: &Value, request_id: &str) -> String {
    let mut out =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{NAMESPACE}">"#);
    if has_result(action) {
        out.push_str(&format!("<{action}Result>"));
        if let Value::Object(members) = output {
            write_members(&mut out, action, members);
        }
        out.push_str(&format!("</{action}Result>"));
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    ));
    out
}

/// The XML body of a query-protocol error.
pub fn error_xml(error: &SqsError, request_id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        error.kind.fault(),
        escape(error.kind.query_code()),
        escape(&error.message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn translates_flattened_parameters() {
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
        .expect("valid");
        assert_eq!(request.action, "SendMessageBatch");
        assert_eq!(
            request.input,
            json!({
                "QueueUrl": "/000000000000/q",
                "Entries": [
                    {"Id": "a", "MessageBody": "one",
                     "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}},
                    {"Id": "b", "MessageBody": "two"}
                ]
            })
        );
    }

    #[test]
    fn translates_queue_attributes_and_tags() {
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
        .expect("valid");
        assert_eq!(
            request.input,
            json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "5"}, "tags": {"team": "data"}})
        );
    }

    #[test]
    fn writes_flattened_xml() {
        let xml = response_xml(
            "GetQueueAttributes",
            &json!({"Attributes": {"VisibilityTimeout": "30"}}),
            "r1",
        );
        assert!(xml.contains("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute></GetQueueAttributesResult>"), "{xml}");
        let xml = response_xml("DeleteQueue", &json!({}), "r2");
        assert!(!xml.contains("DeleteQueueResult"));
        assert!(xml.contains("<RequestId>r2</RequestId>"));
        assert_eq!(escape("a<&\r"), "a&lt;&amp;&#xD;");
    }
}
