//! The query protocol's XML answers, written by serde from the same output structs the
//! JSON protocol serializes. Members become elements, in the order of the struct; the
//! model's flattened lists and maps take their element names from [`layout`]
//! (`QueueUrls` is a run of `<QueueUrl>`, `Attributes` a run of
//! `<Attribute><Name>..</Name><Value>..</Value></Attribute>`).

use std::fmt::{Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use eddy_store::sqs::SqsError;

/// The XML namespace of every SQS query response.
pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// The XML answer of a successful request: `output` inside `<{action}Result>`.
pub fn response<T: Serialize>(
    action: &str,
    output: &T,
    request_id: &str,
) -> Result<String, XmlError> {
    let mut out = response_start(action);
    let result = format!("{action}Result");
    output.serialize(Xml {
        out: &mut out,
        action,
        mode: Mode::Element(&result),
    })?;
    Ok(response_end(out, action, request_id))
}

/// The XML answer of an operation whose model has no output: no result element.
pub fn empty_response(action: &str, request_id: &str) -> String {
    response_end(response_start(action), action, request_id)
}

fn response_start(action: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{NAMESPACE}">"#)
}

fn response_end(mut out: String, action: &str, request_id: &str) -> String {
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    );
    out
}

/// The XML body of a query-protocol error.
pub fn error(error: &SqsError, request_id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        error.kind.fault(),
        escape(error.kind.query_code()),
        escape(&error.message),
        escape(request_id)
    )
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

/// How a member's value is laid out in XML, when it is not one element of its name.
enum Layout {
    /// A flattened list: each item is one element of this name.
    List(&'static str),
    /// A flattened map: each entry is one element with a key and a value child.
    Map {
        element: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

/// The flattened members of the SQS outputs (the model's `locationName`s).
fn layout(action: &str, member: &str) -> Option<Layout> {
    use Layout::{List, Map};
    let map = |element, key, value| Map {
        element,
        key,
        value,
    };
    Some(match member {
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

/// An output that has no XML form (a shape the SQS outputs do not use).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the output as XML: {0}")]
pub struct XmlError(String);

impl ser::Error for XmlError {
    fn custom<T: Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, XmlError> {
    Err(XmlError(format!("{what} is not used by SQS outputs")))
}

/// Writes one member: by its [`layout`], else as one element of its name.
fn member<T: Serialize + ?Sized>(
    out: &mut String,
    action: &str,
    name: &str,
    value: &T,
) -> Result<(), XmlError> {
    let mode = match layout(action, name) {
        Some(Layout::List(item)) => Mode::List(item),
        Some(Layout::Map {
            element,
            key,
            value,
        }) => Mode::Map {
            element,
            key,
            value,
        },
        None => Mode::Element(name),
    };
    value.serialize(Xml { out, action, mode })
}

#[derive(Clone, Copy)]
enum Mode<'a> {
    /// One element of this name.
    Element(&'a str),
    /// The text alone (a map key).
    Text,
    /// A flattened list: one element of this name per item.
    List(&'static str),
    /// A flattened map: one element per entry, with a key and a value child.
    Map {
        element: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

/// The serde serializer writing a value in one [`Mode`].
struct Xml<'a> {
    out: &'a mut String,
    action: &'a str,
    mode: Mode<'a>,
}

impl<'a> Xml<'a> {
    fn scalar(self, text: &str) -> Result<(), XmlError> {
        match self.mode {
            Mode::Element(name) => {
                let _ = write!(self.out, "<{name}>{}</{name}>", escape(text));
            }
            Mode::Text => self.out.push_str(&escape(text)),
            Mode::List(_) | Mode::Map { .. } => {
                return unsupported("a scalar in a flattened member");
            }
        }
        Ok(())
    }

    fn members(self) -> Result<Members<'a>, XmlError> {
        let kind = match self.mode {
            Mode::Element(name) => {
                let _ = write!(self.out, "<{name}>");
                Nesting::Element(name)
            }
            Mode::Map {
                element,
                key,
                value,
            } => Nesting::Entries {
                element,
                key,
                value,
            },
            Mode::Text | Mode::List(_) => return unsupported("a structure in a list or key"),
        };
        Ok(Members {
            out: self.out,
            action: self.action,
            kind,
            key: String::new(),
        })
    }
}

impl<'a> Serializer for Xml<'a> {
    type Ok = ();
    type Error = XmlError;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Impossible<(), XmlError>;
    type SerializeTupleStruct = Impossible<(), XmlError>;
    type SerializeTupleVariant = Impossible<(), XmlError>;
    type SerializeMap = Members<'a>;
    type SerializeStruct = Members<'a>;
    type SerializeStructVariant = Impossible<(), XmlError>;

    fn serialize_bool(self, v: bool) -> Result<(), XmlError> {
        self.scalar(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), XmlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), XmlError> {
        self.scalar(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), XmlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), XmlError> {
        self.scalar(&v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<(), XmlError> {
        unsupported("a floating-point number")
    }
    fn serialize_f64(self, _: f64) -> Result<(), XmlError> {
        unsupported("a floating-point number")
    }
    fn serialize_char(self, v: char) -> Result<(), XmlError> {
        self.scalar(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), XmlError> {
        self.scalar(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), XmlError> {
        unsupported("raw bytes")
    }
    fn serialize_none(self) -> Result<(), XmlError> {
        self.scalar("")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), XmlError> {
        self.scalar("")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), XmlError> {
        self.scalar("")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), XmlError> {
        self.scalar(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), XmlError> {
        unsupported("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Items<'a>, XmlError> {
        match self.mode {
            Mode::List(item) => Ok(Items {
                out: self.out,
                action: self.action,
                item,
            }),
            _ => unsupported("a list without a flattened layout"),
        }
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, XmlError> {
        unsupported("a tuple")
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, XmlError> {
        unsupported("a tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, XmlError> {
        unsupported("an enum with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Members<'a>, XmlError> {
        self.members()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Members<'a>, XmlError> {
        self.members()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, XmlError> {
        unsupported("an enum with data")
    }
}

/// The items of a flattened list.
struct Items<'a> {
    out: &'a mut String,
    action: &'a str,
    item: &'static str,
}

impl SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = XmlError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        member(self.out, self.action, self.item, value)
    }
    fn end(self) -> Result<(), XmlError> {
        Ok(())
    }
}

/// What members or map entries are written into.
enum Nesting<'a> {
    /// The children of one element (closed at the end).
    Element(&'a str),
    /// The entries of a flattened map.
    Entries {
        element: &'static str,
        key: &'static str,
        value: &'static str,
    },
}

/// The members of a structure, or the entries of a map.
struct Members<'a> {
    out: &'a mut String,
    action: &'a str,
    kind: Nesting<'a>,
    /// The member name of the map entry being written.
    key: String,
}

impl SerializeStruct for Members<'_> {
    type Ok = ();
    type Error = XmlError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), XmlError> {
        match self.kind {
            Nesting::Element(_) => member(self.out, self.action, name, value),
            Nesting::Entries { .. } => unsupported("a structure as a flattened map"),
        }
    }
    fn end(self) -> Result<(), XmlError> {
        SerializeMap::end(self)
    }
}

impl SerializeMap for Members<'_> {
    type Ok = ();
    type Error = XmlError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), XmlError> {
        let (out, open) = match self.kind {
            Nesting::Element(_) => {
                self.key.clear();
                (&mut self.key, None)
            }
            Nesting::Entries {
                element,
                key: key_tag,
                ..
            } => (&mut *self.out, Some((element, key_tag))),
        };
        if let Some((element, key_tag)) = open {
            let _ = write!(out, "<{element}><{key_tag}>");
        }
        key.serialize(Xml {
            out,
            action: self.action,
            mode: Mode::Text,
        })?;
        if let Some((_, key_tag)) = open {
            let _ = write!(self.out, "</{key_tag}>");
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        match self.kind {
            Nesting::Element(_) => member(self.out, self.action, &self.key, value),
            Nesting::Entries {
                element,
                value: name,
                ..
            } => {
                member(self.out, self.action, name, value)?;
                let _ = write!(self.out, "</{element}>");
                Ok(())
            }
        }
    }
    fn end(self) -> Result<(), XmlError> {
        if let Nesting::Element(name) = self.kind {
            let _ = write!(self.out, "</{name}>");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        attributes: BTreeMap<&'static str, &'static str>,
        queue_urls: Vec<&'static str>,
        flag: bool,
    }

    #[test]
    fn writes_flattened_members() {
        let output = Output {
            attributes: BTreeMap::from([("VisibilityTimeout", "30")]),
            queue_urls: vec!["a", "b"],
            flag: true,
        };
        let xml = response("GetQueueAttributes", &output, "r1").expect("writes");
        assert!(
            xml.contains("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl><Flag>true</Flag></GetQueueAttributesResult>"),
            "{xml}"
        );
        assert!(xml.ends_with("<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetQueueAttributesResponse>"));
        let empty = empty_response("DeleteQueue", "r2");
        assert!(!empty.contains("DeleteQueueResult"));
        assert!(empty.contains("<RequestId>r2</RequestId>"));
        assert_eq!(escape("a<&\r"), "a&lt;&amp;&#xD;");
    }
}
