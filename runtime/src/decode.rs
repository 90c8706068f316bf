//! Typed decoding from a parsed JSON tree: the one decode path of every generated type.
//!
//! The generator emits a small, non-generic [`Decode`] impl per type: a struct reads its fields
//! through [`Fields`], a string enum looks itself up in a table, and a response enum picks its
//! variant by index. Errors carry a JSON pointer and stop at the first failure; the runtime then
//! asks the JSON Schema for every violation. Nothing here is derived by serde, so the cost per
//! type is a few lines of plain code rather than a visitor per format.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The first failure of a typed decode: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// A JSON pointer into the decoded document.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {:?}: {}", self.pointer, self.message)
    }
}

impl std::error::Error for DecodeFailure {}

/// Decodes a generated type from JSON (the same strict decode responses get).
pub fn from_value<T: Decode>(value: &Value) -> Result<T, DecodeFailure> {
    Decoder::decode_root(value)
}

/// One step of the path from the root to the value being decoded.
#[derive(Debug, Clone, Copy)]
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// The state of one decode: the path to the current value and the first failure.
#[derive(Debug, Default)]
pub struct Decoder<'v> {
    path: Vec<Step<'v>>,
    failure: Option<DecodeFailure>,
}

/// A type the generated code can decode from a JSON tree.
pub trait Decode: Sized {
    /// Decodes `value`; on failure records it in `d` and returns `None`.
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self>;
}

/// A generated struct: it reads its fields from an object. A struct that extends another
/// (the same resource at a later version, with fields added) reads its own fields, then the
/// base's, from the same object.
pub trait Record: Sized {
    /// Whether fields outside the schema are an error (`additionalProperties: false`).
    const CLOSED: bool = true;
    /// Reads the fields of this type (and of its base) from `fields`.
    fn read<'v>(fields: &mut Fields<'_, 'v>) -> Option<Self>;
}

/// A generated string enum: its variants and their JSON spellings.
pub trait StrEnum: Sized + Copy + 'static {
    /// Every variant with its spelling, in the schema's order.
    const VARIANTS: &'static [(&'static str, Self)];
}

/// The fields of one object being read by a [`Record`].
#[derive(Debug)]
pub struct Fields<'d, 'v> {
    decoder: &'d mut Decoder<'v>,
    map: &'v Map<String, Value>,
    seen: usize,
    /// The names asked for; recorded only when an unknown field has to be named.
    known: Option<Vec<&'static str>>,
}

impl<'v> Decoder<'v> {
    /// A fresh decoder at the root of a document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes a whole document as `T`.
    pub fn decode_root<T: Decode>(value: &'v Value) -> Result<T, DecodeFailure> {
        let mut d = Decoder::new();
        T::decode(&mut d, value).ok_or_else(|| d.into_failure())
    }

    /// The failure recorded by a decode that returned `None`.
    pub fn into_failure(self) -> DecodeFailure {
        self.failure.unwrap_or_else(|| DecodeFailure {
            pointer: String::new(),
            message: "the value could not be decoded".to_owned(),
        })
    }

    /// The current JSON pointer.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            out.push('/');
            match step {
                Step::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Step::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// Records a failure at the current path (the first one wins) and returns `None`.
    pub fn fail<T>(&mut self, message: impl Into<String>) -> Option<T> {
        self.record_failure(message.into());
        None
    }

    /// The one non-generic place a failure is recorded.
    fn record_failure(&mut self, message: String) {
        if self.failure.is_none() {
            self.failure = Some(DecodeFailure {
                pointer: self.pointer(),
                message,
            });
        }
    }

    fn expected<T>(&mut self, what: &str, value: &Value) -> Option<T> {
        self.mismatch(what, value);
        None
    }

    fn mismatch(&mut self, what: &str, value: &Value) {
        self.record_failure(format!("expected {what}, found {}", kind(value)));
    }

    /// Decodes `value` as `T` one key below the current path.
    pub fn at_key<T: Decode>(&mut self, key: &'v str, value: &'v Value) -> Option<T> {
        self.path.push(Step::Key(key));
        let out = T::decode(self, value);
        if out.is_some() {
            self.path.pop();
        }
        out
    }

    fn at_index<T: Decode>(&mut self, index: usize, value: &'v Value) -> Option<T> {
        self.path.push(Step::Index(index));
        let out = T::decode(self, value);
        if out.is_some() {
            self.path.pop();
        }
        out
    }

    /// Reads an object as the record `T`, refusing unknown fields when `T` is closed.
    pub fn record<T: Record>(&mut self, value: &'v Value) -> Option<T> {
        let mut fields = self.fields(value)?;
        let out = T::read(&mut fields)?;
        if !T::CLOSED || fields.seen == fields.map.len() {
            return Some(out);
        }
        // Rare: some key was not read. Read again, recording the names, to say which.
        let mut again = self.fields(value)?;
        again.known = Some(Vec::new());
        let _ = T::read(&mut again);
        let known = again.known.unwrap_or_default();
        self.report_unknown_field(value, &known);
        None
    }

    /// The fields of an object, to be read by a [`Record`].
    fn fields(&mut self, value: &'v Value) -> Option<Fields<'_, 'v>> {
        match value {
            Value::Object(map) => Some(Fields {
                decoder: self,
                map,
                seen: 0,
                known: None,
            }),
            other => {
                self.mismatch("an object", other);
                None
            }
        }
    }

    /// Records the first key of the object `value` that is not among `known`.
    fn report_unknown_field(&mut self, value: &'v Value, known: &[&str]) {
        let Value::Object(map) = value else { return };
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(extra) => {
                self.path.push(Step::Key(extra));
                self.record_failure(format!("unknown field `{extra}`"));
            }
            None => self.record_failure("a field was read twice".to_owned()),
        }
    }

    /// Reads a string that must be one of `T`'s spellings.
    pub fn str_enum<T: StrEnum>(&mut self, value: &'v Value) -> Option<T> {
        let Value::String(text) = value else {
            return self.expected("a string", value);
        };
        match T::VARIANTS.iter().find(|(name, _)| name == text) {
            Some((_, variant)) => Some(*variant),
            None => {
                let names: Vec<&str> = T::VARIANTS.iter().map(|(n, _)| *n).collect();
                self.fail(format!(
                    "unknown variant `{text}`, expected one of {}",
                    names.join(", ")
                ))
            }
        }
    }

    /// Decodes the first of several shapes that fits (`oneOf`/`anyOf` and multi-type values).
    /// Failures of shapes that did not fit are forgotten; if none fits, that is the failure.
    pub fn first_of<T>(
        &mut self,
        value: &'v Value,
        what: &str,
        shapes: &[fn(&mut Decoder<'v>, &'v Value) -> Option<T>],
    ) -> Option<T> {
        for shape in shapes {
            let mut trial = Decoder {
                path: Vec::new(),
                failure: None,
            };
            if let Some(out) = shape(&mut trial, value) {
                return Some(out);
            }
        }
        self.fail(format!("{} fits none of the shapes of {what}", kind(value)))
    }
}

impl<'v> Fields<'_, 'v> {
    fn lookup(&mut self, name: &'static str) -> Option<(&'v String, &'v Value)> {
        if let Some(known) = &mut self.known {
            known.push(name);
        }
        let found = self.map.get_key_value(name);
        if found.is_some() {
            self.seen += 1;
        }
        found
    }

    /// A required field.
    pub fn req<T: Decode>(&mut self, name: &'static str) -> Option<T> {
        match self.lookup(name) {
            Some((key, value)) => self.decoder.at_key(key, value),
            None => self.decoder.fail(format!("missing field `{name}`")),
        }
    }

    /// An optional field: absent is `None`. (A `null` is decoded by `T`; for a nullable field
    /// `T` is itself an `Option`.)
    pub fn opt<T: Decode>(&mut self, name: &'static str) -> Option<Option<T>> {
        match self.lookup(name) {
            Some((key, value)) => self.decoder.at_key(key, value).map(Some),
            None => Some(None),
        }
    }

    /// An optional, nullable field: absent and `null` are both `None`.
    pub fn nullable<T: Decode>(&mut self, name: &'static str) -> Option<Option<T>> {
        self.opt::<Option<T>>(name).map(Option::flatten)
    }

    /// The fields of the base record this one extends.
    pub fn base<T: Record>(&mut self) -> Option<T> {
        T::read(self)
    }
}

/// Implements [`Decode`] for generated structs through their [`Record`] impl.
#[macro_export]
macro_rules! records {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::decode::Decode for $t {
            fn decode<'v>(
                d: &mut $crate::decode::Decoder<'v>,
                value: &'v $crate::contract::Value,
            ) -> Option<Self> {
                d.record(value)
            }
        }
    )*};
}

/// Implements [`Decode`], `Serialize` and `Display` for generated string enums through their
/// [`StrEnum`] table.
#[macro_export]
macro_rules! str_enums {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::decode::Decode for $t {
            fn decode<'v>(
                d: &mut $crate::decode::Decoder<'v>,
                value: &'v $crate::contract::Value,
            ) -> Option<Self> {
                d.str_enum(value)
            }
        }
        impl $crate::serde::Serialize for $t {
            fn serialize<S: $crate::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::contract::serialize_str_enum(self, s)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::decode::spelling(self))
            }
        }
    )*};
}

/// The JSON spelling of a string enum's variant.
pub fn spelling<T: StrEnum + PartialEq>(value: &T) -> &'static str {
    T::VARIANTS
        .iter()
        .find(|(_, v)| v == value)
        .map_or("", |(name, _)| name)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decode for the JSON scalars: each a reader and what the JSON must be.
macro_rules! scalars {
    ($($t:ty => $read:expr, $what:literal;)*) => {$(
        impl Decode for $t {
            fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
                let read: fn(&Value) -> Option<$t> = $read;
                match read(value) {
                    Some(v) => Some(v),
                    None => d.expected($what, value),
                }
            }
        }
    )*};
}

scalars! {
    String => |v| v.as_str().map(str::to_owned), "a string";
    bool => Value::as_bool, "a boolean";
    i64 => Value::as_i64, "an integer";
    u64 => Value::as_u64, "a non-negative integer";
    u32 => |v| v.as_u64().and_then(|n| u32::try_from(n).ok()), "an integer from 0 to 4294967295";
    i32 => |v| v.as_i64().and_then(|n| i32::try_from(n).ok()), "a 32-bit integer";
    f64 => Value::as_f64, "a number";
}

impl Decode for Value {
    fn decode<'v>(_: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::decode(d, other).map(Some),
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
        let Value::Array(items) = value else {
            return d.expected("an array", value);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(d.at_index(i, item)?);
        }
        Some(out)
    }
}

impl<T: Decode> Decode for BTreeMap<String, T> {
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
        let Value::Object(map) = value else {
            return d.expected("an object", value);
        };
        let mut out = BTreeMap::new();
        for (key, item) in map {
            out.insert(key.clone(), d.at_key(key, item)?);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Item {
        id: i64,
        name: Option<String>,
    }

    impl Record for Item {
        fn read<'v>(f: &mut Fields<'_, 'v>) -> Option<Self> {
            Some(Self {
                id: f.req("id")?,
                name: f.opt("name")?,
            })
        }
    }

    impl Decode for Item {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
            d.record(value)
        }
    }

    #[derive(Debug, PartialEq)]
    struct Extended {
        extra: bool,
        base: Item,
    }

    impl Record for Extended {
        fn read<'v>(f: &mut Fields<'_, 'v>) -> Option<Self> {
            Some(Self {
                extra: f.req("extra")?,
                base: f.base()?,
            })
        }
    }

    impl Decode for Extended {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
            d.record(value)
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        Ssh,
        X509,
    }

    impl StrEnum for Kind {
        const VARIANTS: &'static [(&'static str, Self)] =
            &[("ssh", Self::Ssh), ("x509", Self::X509)];
    }

    impl Decode for Kind {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
            d.str_enum(value)
        }
    }

    fn fails<T: Decode + std::fmt::Debug>(value: Value) -> DecodeFailure {
        Decoder::decode_root::<T>(&value).unwrap_err()
    }

    #[test]
    fn records_decode_and_refuse_unknown_and_missing_fields() {
        let items: Vec<Item> =
            Decoder::decode_root(&json!([{"id": 1}, {"id": 2, "name": "b"}])).unwrap();
        assert_eq!(items[1].name.as_deref(), Some("b"));
        let e = fails::<Vec<Item>>(json!([{"id": 1}, {"id": 2, "extra": 1}]));
        assert_eq!(e.pointer, "/1/extra");
        assert!(e.message.contains("unknown field"), "{}", e.message);
        let e = fails::<Vec<Item>>(json!([{"name": "x"}]));
        assert_eq!(
            (e.pointer.as_str(), e.message.as_str()),
            ("/0", "missing field `id`")
        );
        let e = fails::<BTreeMap<String, Item>>(json!({"a/b": {"id": "x"}}));
        assert_eq!(e.pointer, "/a~1b/id");
    }

    #[test]
    fn an_extension_reads_its_base_from_the_same_object() {
        let v: Extended = Decoder::decode_root(&json!({"id": 3, "extra": true})).unwrap();
        assert_eq!(v.base.id, 3);
        let e = fails::<Extended>(json!({"id": 3, "extra": true, "other": 1}));
        assert_eq!(e.pointer, "/other");
        let e = fails::<Extended>(json!({"extra": true}));
        assert_eq!(e.message, "missing field `id`");
    }

    #[test]
    fn enums_nulls_and_shapes() {
        assert_eq!(
            Decoder::decode_root::<Kind>(&json!("x509")).unwrap(),
            Kind::X509
        );
        assert!(fails::<Kind>(json!("rsa")).message.contains("ssh, x509"));
        assert_eq!(
            Decoder::decode_root::<Option<i64>>(&json!(null)).unwrap(),
            None
        );
        let e = fails::<i64>(json!(1.5));
        assert_eq!(e.message, "expected an integer, found a number");
        fn text<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<String> {
            d.first_of(
                value,
                "text",
                &[
                    |d, v| String::decode(d, v),
                    |d, v| i64::decode(d, v).map(|n| n.to_string()),
                ],
            )
        }
        assert_eq!(Decoder::decode_root::<Text>(&json!(7)).unwrap().0, "7");
        let e = fails::<Text>(json!(true));
        assert_eq!(e.message, "a boolean fits none of the shapes of text");
        #[derive(Debug)]
        struct Text(String);
        impl Decode for Text {
            fn decode<'v>(d: &mut Decoder<'v>, value: &'v Value) -> Option<Self> {
                text(d, value).map(Text)
            }
        }
    }
}
