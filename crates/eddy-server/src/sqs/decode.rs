//! Reading SQS requests into typed inputs with serde, the same way from both wire
//! protocols: a JSON body is deserialized straight into the operation's input struct, and
//! the query protocol's form (see [`super::query`]) is presented to the same code as a
//! serde `Deserializer`.
//!
//! Input structs are declared with [`shape!`]: each field is read from the member of the
//! model's name, other members are read in full and ignored (so a body must be valid JSON
//! as a whole). How a member is read depends on its field type ([`Decode`]):
//!
//! - [`Member<T>`] for strings, integers, string maps, string lists and batch entries: a
//!   value of the wrong type does not fail the request while it is decoded. It is kept as
//!   the error the operation answers with when it reads that member, so a request with
//!   several faults gets the error of the first one the operation checks.
//! - `Option<String>` reads a string leniently: a value of another type counts as absent.
//! - `BTreeMap<String, S>` of a shape `S` (message attributes) reads leniently too: a value
//!   that is not an object is an empty map, an entry that is not an object an empty `S`.
//!
//! This module knows no operation; it only knows how members are read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use eddy_store::sqs::SqsError;

/// A structure of the SQS model, read member by member (declare one with [`shape!`]).
pub trait Shape: Default {
    /// Reads the value of the member `name` from `map` into its field. `false` when the
    /// structure has no such member: the caller then reads the value and drops it.
    fn read_member<'de, A: MapAccess<'de>>(
        &mut self,
        name: &str,
        map: &mut A,
    ) -> Result<bool, A::Error>;
}

/// Declares a structure of the SQS model: a struct whose fields are read from the members
/// named on the left, and the [`Shape`] that reads them. A last `..field: Type` (itself a
/// shape) takes the members the others do not name.
macro_rules! shape {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $wire:literal => $field:ident: $type:ty, )*
            $( .. $(#[$rest_meta:meta])* $rest:ident: $rest_type:ty, )?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
            $( $(#[$rest_meta])* pub $rest: $rest_type, )?
        }

        impl $crate::sqs::decode::Shape for $name {
            fn read_member<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                name: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match name {
                    $( $wire => {
                        self.$field = map.next_value_seed($crate::sqs::decode::MemberSeed::new($wire))?;
                    } )*
                    _ => return $crate::sqs::decode::shape!(@rest self, name, map, $($rest)?),
                }
                Ok(true)
            }
        }
    };
    (@rest $self:ident, $name:ident, $map:ident, ) => { Ok(false) };
    (@rest $self:ident, $name:ident, $map:ident, $rest:ident) => {
        $crate::sqs::decode::Shape::read_member(&mut $self.$rest, $name, $map)
    };
}
pub(crate) use shape;

/// Reads a request's input: the value must be an object (a form always is one).
pub fn read_input<'de, T: Shape, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct Input<T>(PhantomData<T>);
    impl<'de, T: Shape> Visitor<'de> for Input<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            read_shape(map)
        }
    }
    deserializer.deserialize_map(Input(PhantomData))
}

fn read_shape<'de, T: Shape, A: MapAccess<'de>>(mut map: A) -> Result<T, A::Error> {
    let mut shape = T::default();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if !shape.read_member(&key, &mut map)? {
            map.next_value_seed(Skip)?;
        }
    }
    Ok(shape)
}

/// How a field of a [`shape!`] is read from the value of its member.
pub trait Decode: Sized {
    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        name: &'static str,
    ) -> Result<Self, D::Error>;
}

/// Reads one member's value as its field's type.
pub struct MemberSeed<T> {
    name: &'static str,
    field: PhantomData<T>,
}

impl<T> MemberSeed<T> {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            field: PhantomData,
        }
    }
}

impl<'de, T: Decode> DeserializeSeed<'de> for MemberSeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::decode(deserializer, self.name)
    }
}

/// A member as the client sent it: absent (or `null`), a value, or a value of the wrong
/// type, kept as the error to answer with once the operation reads the member.
#[derive(Debug)]
pub struct Member<T>(Result<Option<T>, SqsError>);

impl<T> Default for Member<T> {
    fn default() -> Self {
        Self(Ok(None))
    }
}

impl<T> Member<T> {
    /// The value, if one was sent.
    pub fn optional(self) -> Result<Option<T>, SqsError> {
        self.0
    }

    /// The value; `MissingParameter` naming `name` when none was sent.
    pub fn required(self, name: &str) -> Result<T, SqsError> {
        self.0?.ok_or_else(|| SqsError::missing_parameter(name))
    }

    /// The value, if one was sent and read, without taking it.
    pub fn peek(&self) -> Option<&T> {
        self.0.as_ref().ok().and_then(Option::as_ref)
    }
}

impl<T: Default> Member<T> {
    /// The value, or the empty one when none was sent.
    pub fn or_default(self) -> Result<T, SqsError> {
        Ok(self.0?.unwrap_or_default())
    }
}

impl Decode for Member<String> {
    fn decode<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(Text(name))).map(Member)
    }
}

impl Decode for Member<i64> {
    fn decode<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(Integer(name))).map(Member)
    }
}

impl Decode for Member<BTreeMap<String, String>> {
    fn decode<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(StringMap(name))).map(Member)
    }
}

impl Decode for Member<Vec<String>> {
    fn decode<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(StringList(name))).map(Member)
    }
}

/// Batch entries: a list of shapes; an entry that is not an object is an empty shape.
impl<E: Shape> Decode for Member<Vec<E>> {
    fn decode<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(Entries(name, PhantomData)))
            .map(Member)
    }
}

/// A string read leniently: a value of another type counts as absent.
impl Decode for Option<String> {
    fn decode<'de, D: Deserializer<'de>>(d: D, _: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(LaxText))
    }
}

/// A map of shapes read leniently: a value that is not an object is an empty map.
impl<S: Shape> Decode for BTreeMap<String, S> {
    fn decode<'de, D: Deserializer<'de>>(d: D, _: &'static str) -> Result<Self, D::Error> {
        d.deserialize_any(Read(LaxShapes(PhantomData)))
    }
}

/// What a member makes of each kind of value it may be sent. A kind it does not read is
/// still read in full and handed over as JSON (`other`), for the error message.
trait Reader<'de>: Sized {
    type Out;
    fn other(self, value: Value) -> Self::Out;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        self.other(Value::String(text.into_owned()))
    }
    fn null(self) -> Self::Out {
        self.other(Value::Null)
    }
    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Out, A::Error> {
        Ok(self.other(Value::deserialize(SeqAccessDeserializer::new(seq))?))
    }
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error> {
        Ok(self.other(Value::deserialize(MapAccessDeserializer::new(map))?))
    }
}

/// The serde visitor of a [`Reader`].
struct Read<R>(R);

impl<'de, R: Reader<'de>> Visitor<'de> for Read<R> {
    type Value = R::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<R::Out, E> {
        Ok(self.0.other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<R::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<R::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<R::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<R::Out, E> {
        Ok(self.0.text(Cow::Owned(v.to_owned())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<R::Out, E> {
        Ok(self.0.text(Cow::Borrowed(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<R::Out, E> {
        Ok(self.0.text(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<R::Out, E> {
        Ok(self.0.null())
    }
    fn visit_none<E>(self) -> Result<R::Out, E> {
        Ok(self.0.null())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<R::Out, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<R::Out, A::Error> {
        self.0.seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<R::Out, A::Error> {
        self.0.map(map)
    }
}

/// Reads any value with a [`Reader`] (for list items and map values).
struct ReadSeed<R>(R);

impl<'de, R: Reader<'de>> DeserializeSeed<'de> for ReadSeed<R> {
    type Value = R::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<R::Out, D::Error> {
        d.deserialize_any(Read(self.0))
    }
}

type Checked<T> = Result<Option<T>, SqsError>;

/// A string member.
struct Text(&'static str);

impl<'de> Reader<'de> for Text {
    type Out = Checked<String>;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        Ok(Some(text.into_owned()))
    }
    fn null(self) -> Self::Out {
        Ok(None)
    }
    fn other(self, _: Value) -> Self::Out {
        Err(SqsError::invalid_parameter(format!(
            "The parameter {} must be a string.",
            self.0
        )))
    }
}

/// An integer member: a JSON integer, or a string holding one (the query protocol's way).
struct Integer(&'static str);

impl Integer {
    fn invalid(&self, value: impl fmt::Display) -> SqsError {
        SqsError::invalid_parameter(format!(
            "Value {value} for parameter {} is invalid.",
            self.0
        ))
    }
}

impl<'de> Reader<'de> for Integer {
    type Out = Checked<i64>;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        text.parse().map(Some).map_err(|_| self.invalid(text))
    }
    fn null(self) -> Self::Out {
        Ok(None)
    }
    fn other(self, value: Value) -> Self::Out {
        value.as_i64().map(Some).ok_or_else(|| self.invalid(value))
    }
}

/// A string, or the JSON of whatever else was sent (map values, list items).
struct TextOrValue;

impl<'de> Reader<'de> for TextOrValue {
    type Out = Result<String, Value>;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        Ok(text.into_owned())
    }
    fn other(self, value: Value) -> Self::Out {
        Err(value)
    }
}

/// A map of strings (queue attributes, tags).
struct StringMap(&'static str);

impl<'de> Reader<'de> for StringMap {
    type Out = Checked<BTreeMap<String, String>>;
    fn null(self) -> Self::Out {
        Ok(None)
    }
    fn other(self, _: Value) -> Self::Out {
        Err(SqsError::invalid_parameter(format!(
            "The parameter {} must be a map.",
            self.0
        )))
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ReadSeed(TextOrValue))?;
            entries.insert(key, value);
        }
        // The first entry in key order that is not a string is the one reported.
        let mut strings = BTreeMap::new();
        for (key, value) in entries {
            match value {
                Ok(text) => strings.insert(key, text),
                Err(other) => {
                    return Ok(Err(SqsError::invalid_parameter(format!(
                        "Value {other} for {}.{key} is not a string.",
                        self.0
                    ))));
                }
            };
        }
        Ok(Ok(Some(strings)))
    }
}

/// A list of strings (attribute names, tag keys, ...).
struct StringList(&'static str);

impl<'de> Reader<'de> for StringList {
    type Out = Checked<Vec<String>>;
    fn null(self) -> Self::Out {
        Ok(None)
    }
    fn other(self, _: Value) -> Self::Out {
        Err(SqsError::invalid_parameter(format!(
            "The parameter {} must be a list.",
            self.0
        )))
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut items = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element_seed(ReadSeed(TextOrValue))? {
            match item {
                Ok(text) => items.push(text),
                Err(_) => all_strings = false,
            }
        }
        if !all_strings {
            return Ok(Err(SqsError::invalid_parameter(format!(
                "The parameter {} must be a list of strings.",
                self.0
            ))));
        }
        Ok(Ok(Some(items)))
    }
}

/// A list of batch entries.
struct Entries<E>(&'static str, PhantomData<E>);

impl<'de, E: Shape> Reader<'de> for Entries<E> {
    type Out = Checked<Vec<E>>;
    fn null(self) -> Self::Out {
        Ok(None)
    }
    fn other(self, _: Value) -> Self::Out {
        Err(SqsError::invalid_parameter(format!(
            "{} must be a list.",
            self.0
        )))
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element_seed(ReadSeed(LaxShape(PhantomData)))? {
            entries.push(entry);
        }
        Ok(Ok(Some(entries)))
    }
}

/// A shape inside a list or map: anything but an object reads as the empty shape.
struct LaxShape<S>(PhantomData<S>);

impl<'de, S: Shape> Reader<'de> for LaxShape<S> {
    type Out = S;
    fn other(self, _: Value) -> S {
        S::default()
    }
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<S, A::Error> {
        read_shape(map)
    }
}

/// A map of shapes: anything but an object reads as the empty map.
struct LaxShapes<S>(PhantomData<S>);

impl<'de, S: Shape> Reader<'de> for LaxShapes<S> {
    type Out = BTreeMap<String, S>;
    fn other(self, _: Value) -> Self::Out {
        BTreeMap::new()
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut shapes = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let shape = map.next_value_seed(ReadSeed(LaxShape(PhantomData)))?;
            shapes.insert(key, shape);
        }
        Ok(shapes)
    }
}

/// A string read leniently.
struct LaxText;

impl<'de> Reader<'de> for LaxText {
    type Out = Option<String>;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        Some(text.into_owned())
    }
    fn other(self, _: Value) -> Self::Out {
        None
    }
}

/// A member name, borrowed from the body when it can be.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(Read(Key))
    }
}

struct Key;

impl<'de> Reader<'de> for Key {
    type Out = Cow<'de, str>;
    fn text(self, text: Cow<'de, str>) -> Self::Out {
        text
    }
    fn other(self, _: Value) -> Self::Out {
        Cow::Borrowed("")
    }
}

/// Reads a value the input has no member for, in full, as strictly as any other value,
/// and drops it.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Read(Skip))
    }
}

impl<'de> Reader<'de> for Skip {
    type Out = ();
    fn other(self, _: Value) {}
    fn text(self, _: Cow<'de, str>) {}
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}
