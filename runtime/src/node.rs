//! A parsed JSON document: what the typed decode walks.
//!
//! A response body is parsed once by sonic-rs into its arena DOM (one allocation region for
//! the whole document, objects kept as member lists in document order, no hashing). Measured
//! on Nova's flavor listings, that takes about an eighth of the time of a
//! `serde_json::Value` parse (`cargo bench --bench squall`, row "bytes -> Node"), and about
//! a third of the time of the tree of `Vec`s through serde that it replaced.
//! The generated types then decode themselves from it,
//! checking every constraint of their schema as they go; they see it through [`View`].

use std::fmt;

use ref_cast::RefCast;
use serde_json::Value;
use sonic_rs::{JsonContainerTrait as _, JsonNumberTrait as _, JsonValueTrait as _, ValueRef};

/// One JSON value of a parsed document.
#[derive(RefCast, Clone, PartialEq)]
#[repr(transparent)]
pub struct Node(sonic_rs::Value);

/// Why JSON text could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong, with its line and column (`Invalid JSON value at line 1 column 13`).
    pub message: String,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl From<sonic_rs::Error> for ParseError {
    fn from(e: sonic_rs::Error) -> Self {
        // sonic-rs follows its first line with a snippet of the text; the body is kept on the
        // response, so the message stays one line.
        let text = e.to_string();
        Self {
            message: text.lines().next().unwrap_or_default().to_owned(),
            line: e.line(),
            column: e.column(),
        }
    }
}

/// What a [`Node`] is, with its contents borrowed: the form the decoders match on.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// A number with a fraction or an exponent (or beyond 64 bits).
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An array.
    Array(Items<'a>),
    /// An object: its members in document order.
    Object(Members<'a>),
}

/// The items of an array node.
#[derive(Debug, Clone, Copy)]
pub struct Items<'a>(&'a sonic_rs::Array);

/// The members of an object node, in document order (a repeated key is kept twice).
#[derive(Debug, Clone, Copy)]
pub struct Members<'a>(&'a sonic_rs::Object);

impl<'a> Items<'a> {
    /// How many items.
    pub fn len(self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The items, in order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = &'a Node> + Clone {
        self.0.as_slice().iter().map(Node::ref_cast)
    }
}

impl<'a> Members<'a> {
    /// How many members.
    pub fn len(self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The members, in document order.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, &'a Node)> {
        self.0.iter().map(|(k, v)| (k, Node::ref_cast(v)))
    }

    /// The value of the first member named `key`.
    pub fn get(self, key: &str) -> Option<&'a Node> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Node {
    /// Parses JSON text (the whole of `bytes`, surrounding whitespace allowed; UTF-8 is
    /// checked).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        sonic_rs::from_slice(bytes)
            .map(Node)
            .map_err(ParseError::from)
    }

    /// `null`.
    pub fn null() -> Self {
        Node(sonic_rs::Value::new_null())
    }

    /// The same value, from a `serde_json::Value`, its members in the same order. It goes
    /// through the JSON text, the one way in: sonic-rs keeps member order in the documents it
    /// parses, but the objects it builds member by member are hash maps.
    pub fn from_value(value: &Value) -> Result<Self, ParseError> {
        let text = serde_json::to_vec(value).map_err(|e| ParseError {
            line: 0,
            column: 0,
            message: format!("the value cannot be written as JSON: {e}"),
        })?;
        Node::parse(&text)
    }

    /// What this value is, its contents borrowed.
    pub fn view(&self) -> View<'_> {
        match self.0.as_ref() {
            ValueRef::Null => View::Null,
            ValueRef::Bool(b) => View::Bool(b),
            ValueRef::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => View::UInt(u),
                (None, Some(i)) => View::Int(i),
                _ => View::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            ValueRef::String(s) => View::Str(s),
            ValueRef::Array(items) => View::Array(Items(items)),
            ValueRef::Object(members) => View::Object(Members(members)),
        }
    }

    /// The same value as a `serde_json::Value` (for fields the types leave untyped).
    pub fn to_value(&self) -> Value {
        match self.view() {
            View::Null => Value::Null,
            View::Bool(b) => Value::Bool(b),
            View::Int(i) => Value::from(i),
            View::UInt(u) => Value::from(u),
            View::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            View::Str(s) => Value::String(s.to_owned()),
            View::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            View::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// The member `key` of an object (the first, if the key repeats).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self.view() {
            View::Object(members) => members.get(key),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }

    /// The number as `f64`, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<Items<'_>> {
        self.0.as_array().map(Items)
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<Members<'_>> {
        self.0.as_object().map(Members)
    }

    /// What kind of JSON value this is, for messages (`a string`, `an object`).
    pub fn kind(&self) -> &'static str {
        match self.view() {
            View::Null => "null",
            View::Bool(_) => "a boolean",
            View::Int(_) | View::UInt(_) | View::Float(_) => "a number",
            View::Str(_) => "a string",
            View::Array(_) => "an array",
            View::Object(_) => "an object",
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_round_trips() {
        let text = br#"{"a": [1, -2, 2.5, null, true], "b\n": "x\"y", "c": "plain"}"#;
        let node = Node::parse(text).unwrap();
        assert_eq!(node.get("c").and_then(Node::as_str), Some("plain"));
        assert_eq!(node.get("b\n").and_then(Node::as_str), Some("x\"y"));
        let value: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(node.to_value(), value);
        assert_eq!(Node::from_value(&value).unwrap(), node);
        assert_eq!(node.get("a").map(Node::kind), Some("an array"));
        let e = Node::parse(b"{\"a\": }").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7), "{e}");
        assert!(!e.message.contains('\n'), "one line: {e}");
        assert!(Node::parse(b"\"\xff\"").is_err(), "UTF-8 is checked");
        assert!(matches!(
            Node::from_value(&json!(-3)).unwrap().view(),
            View::Int(-3)
        ));
        assert!(matches!(Node::parse(b"3").unwrap().view(), View::UInt(3)));
        assert!(matches!(
            Node::parse(b"3.0").unwrap().view(),
            View::Float(_)
        ));
    }

    #[test]
    fn a_converted_value_keeps_its_members_in_order() {
        let value: Value = serde_json::from_str(&format!(
            "{{{}}}",
            (0..24)
                .map(|i| format!("\"k{i}\": {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .unwrap();
        let expected: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let node = Node::from_value(&value).unwrap();
        let got: Vec<&str> = node.as_object().unwrap().iter().map(|(k, _)| k).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn repeated_keys_are_kept_and_the_first_is_got() {
        let node = Node::parse(br#"{"k": 1, "k": 2}"#).unwrap();
        let members = node.as_object().unwrap();
        assert_eq!(members.len(), 2);
        assert!(matches!(
            members.get("k").map(Node::view),
            Some(View::UInt(1))
        ));
    }
}
