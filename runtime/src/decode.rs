//! Typed decoding from a parsed JSON tree: the one decode path of every generated type, and
//! (in [`Validation::Strict`](crate::Validation::Strict)) the validation too.
//!
//! The generator emits a small, non-generic [`Decode`] impl per type: a struct reads its fields
//! through [`Fields`], a string enum looks itself up in a table, and a response enum picks its
//! variant by index. A field row may name a [`Check`] of the service's constraints table:
//! the field's value must then also satisfy it (lengths, patterns, formats, bounds, counts).
//! Errors carry a JSON pointer and stop at the first failure; the runtime then asks the JSON
//! Schema for every violation. Nothing here is derived by serde, so the cost per type is a few
//! lines of plain code rather than a visitor per format.

use std::collections::BTreeMap;

use serde_json::Value;
use smallvec::SmallVec;

use crate::check::Check;
pub use crate::node::{Members, Node, View};

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

/// Decodes a generated type from JSON (the same strict decode responses get, constraints
/// included).
pub fn from_value<T: Decode>(value: &Value) -> Result<T, DecodeFailure> {
    let node = Node::from_value(value).map_err(|e| DecodeFailure {
        pointer: String::new(),
        message: e.to_string(),
    })?;
    Decoder::decode_root(&node)
}

/// Decodes a generated type from JSON text in one pass: parse, type and check.
pub fn from_slice<T: Decode>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    let node = Node::parse(bytes).map_err(|e| DecodeFailure {
        pointer: String::new(),
        message: format!("body is not JSON: {e}"),
    })?;
    Decoder::decode_root(&node)
}

/// One step from a value to the member or item below it, as a failure passes back up.
#[derive(Debug, Clone, Copy)]
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// The state of one decode: the first failure, whether the constraints of field rows are
/// checked, and where fields were last found.
///
/// No path is kept while decoding: a failure is recorded where it happens with the pointer
/// below that value, and each level it passes through on its way back up puts its own step
/// in front. The path costs nothing until something fails.
#[derive(Debug)]
pub struct Decoder<'v> {
    failure: Option<DecodeFailure>,
    checking: bool,
    hints: Hints,
    /// The lifetime of the document the decoded values borrow from.
    document: std::marker::PhantomData<&'v Node>,
}

impl Default for Decoder<'_> {
    fn default() -> Self {
        Self {
            failure: None,
            checking: true,
            hints: Hints::default(),
            document: std::marker::PhantomData,
        }
    }
}

/// Where fields were last found among an object's members, by field: the objects of a list
/// nearly always list their members in one order, so from the second object on a field is
/// found at the first comparison whatever order the record reads its fields in.
///
/// A small direct-mapped table keyed by the address of the field's name (a `&'static str`
/// of the generated code, so one per spelling): no per-type state, nothing to emit. An entry
/// is only a place to look first, confirmed by comparing the member's name; a collision or
/// another order costs the scan it replaces, never a wrong field.
#[derive(Debug, Clone, Copy)]
struct Hints([u32; Hints::SLOTS]);

impl Default for Hints {
    fn default() -> Self {
        Self([0; Self::SLOTS])
    }
}

impl Hints {
    /// Slots in the table: a record rarely has more than a few dozen fields, so names seldom
    /// share one.
    const SLOTS: usize = 1 << Self::BITS;
    const BITS: u32 = 7;

    /// The entry's slot and the tag it must carry: the name's address, hashed (Fibonacci
    /// hashing, so names laid out side by side spread over the table) and folded.
    fn key(name: &'static str) -> (usize, u32) {
        let address = name.as_ptr().addr();
        let slot = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS);
        let slot = slot as usize;
        // The low 24 bits of the address, above the 8 bits of the position.
        (slot, ((address & 0xFF_FFFF) as u32) << 8)
    }

    /// Where `name` was last found, if it was.
    fn get(&self, name: &'static str) -> Option<usize> {
        let (slot, tag) = Self::key(name);
        let entry = *self.0.get(slot)?;
        (entry & !0xFF == tag).then_some((entry & 0xFF) as usize)
    }

    /// Remembers that `name` was found at `at` (positions past 255 are not kept).
    fn set(&mut self, name: &'static str, at: usize) {
        let (slot, tag) = Self::key(name);
        if let (Some(entry), Ok(at)) = (self.0.get_mut(slot), u8::try_from(at)) {
            *entry = tag | u32::from(at);
        }
    }
}

/// A type the generated code can decode from a JSON tree.
pub trait Decode: Sized {
    /// Decodes `value`; on failure records it in `d` and returns `None`.
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self>;
}

/// A generated struct: it reads its fields from an object. A struct that extends another
/// (the same resource at a later version, with fields added) reads its own fields, then the
/// base's, from the same object.
pub trait Record: Sized {
    /// Whether fields outside the schema are an error (`additionalProperties: false`).
    const CLOSED: bool = true;
    /// What an open record's other members must meet (`additionalProperties` as a schema).
    const EXTRAS: Option<&'static Check> = None;
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
    /// The object's members, gathered once so that each field is a scan of a short slice.
    map: &'d [(&'v str, &'v Node)],
    /// Where the next lookup starts: just after the last member found, so a document that
    /// lists the fields in the order they are read costs one comparison per field.
    cursor: usize,
    /// Which members have been read, a bit per position: those left over are the object's
    /// unknown fields (or, in an open record, the members its extras check).
    read: SmallVec<[u64; 1]>,
    /// How many distinct members have been read.
    seen: usize,
}

impl<'v> Decoder<'v> {
    /// A fresh decoder at the root of a document, checking constraints.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh decoder that checks types only, not the constraints of field rows.
    pub fn types_only() -> Self {
        Self {
            checking: false,
            ..Self::default()
        }
    }

    /// Decodes a whole document as `T`.
    pub fn decode_root<T: Decode>(value: &'v Node) -> Result<T, DecodeFailure> {
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

    /// Puts `step` in front of the pointer of the failure passing back up through it.
    #[cold]
    #[inline(never)]
    fn unwind(&mut self, step: Step<'_>) {
        if let Some(failure) = &mut self.failure {
            let token = match step {
                Step::Key(key) => escape(key),
                Step::Index(index) => index.to_string().into(),
            };
            failure.pointer.insert_str(0, &token);
            failure.pointer.insert(0, '/');
        }
    }

    /// Records a failure at the current value (the first one wins) and returns `None`.
    pub fn fail<T>(&mut self, message: impl Into<String>) -> Option<T> {
        self.record_failure(message.into());
        None
    }

    /// The one non-generic place a failure is recorded.
    fn record_failure(&mut self, message: String) {
        if self.failure.is_none() {
            self.failure = Some(DecodeFailure {
                pointer: String::new(),
                message,
            });
        }
    }

    fn expected<T>(&mut self, what: &str, value: &Node) -> Option<T> {
        self.mismatch(what, value);
        None
    }

    fn mismatch(&mut self, what: &str, value: &Node) {
        self.record_failure(format!("expected {what}, found {}", value.kind()));
    }

    /// Decodes `value`, the member `key` of the current value, as `T`.
    pub fn at_key<T: Decode>(&mut self, key: &'v str, value: &'v Node) -> Option<T> {
        let out = T::decode(self, value);
        if out.is_none() {
            self.unwind(Step::Key(key));
        }
        out
    }

    /// Decodes `value`, the member `key` of the current value, as `T`, then checks `check`
    /// on it.
    fn checked_at_key<T: Decode>(
        &mut self,
        key: &'v str,
        value: &'v Node,
        check: Option<&'static Check>,
    ) -> Option<T> {
        let out = T::decode(self, value);
        if out.is_none() || check.is_some_and(|check| !self.check(check, value)) {
            self.unwind(Step::Key(key));
            return None;
        }
        out
    }

    /// Checks `value` (the current value) against `check`, recording a failure; the one
    /// non-generic place constraints are checked, so no decode instantiation copies it.
    #[inline(never)]
    fn check(&mut self, check: &'static Check, value: &Node) -> bool {
        if !self.checking {
            return true;
        }
        let Err(broken) = check.verify(value) else {
            return true;
        };
        let mut pointer = String::new();
        for step in &broken.path {
            pointer.push('/');
            pointer.push_str(&escape(step));
        }
        if self.failure.is_none() {
            self.failure = Some(DecodeFailure {
                pointer,
                message: broken.message,
            });
        }
        false
    }

    fn at_index<T: Decode>(&mut self, index: usize, value: &'v Node) -> Option<T> {
        let out = T::decode(self, value);
        if out.is_none() {
            self.unwind(Step::Index(index));
        }
        out
    }

    /// Reads an object as the record `T`, refusing unknown fields when `T` is closed and
    /// checking them against [`Record::EXTRAS`] when it is open.
    pub fn record<T: Record>(&mut self, value: &'v Node) -> Option<T> {
        let Some(members) = value.as_object() else {
            return self.expected("an object", value);
        };
        // Filled where it lies: `collect` would build it elsewhere and copy all its inline
        // slots over.
        let mut map = SmallVec::<[(&'v str, &'v Node); 24]>::new();
        map.extend(members.iter());
        let mut fields = self.fields(&map);
        let out = T::read(&mut fields);
        let (read, seen) = (std::mem::take(&mut fields.read), fields.seen);
        // One place `out` is returned from, so it is built where the caller wants it rather
        // than copied there.
        if out.is_some() && seen != map.len() && !self.leftovers(&map, &read, T::CLOSED, T::EXTRAS)
        {
            return None;
        }
        out
    }

    /// Whether the members a record did not read may be there: none may in a closed record;
    /// in an open one they must meet its extras check (when the decoder checks). Not generic,
    /// so no record type carries a copy.
    fn leftovers(
        &mut self,
        map: &[(&'v str, &'v Node)],
        read: &[u64],
        closed: bool,
        extras: Option<&'static Check>,
    ) -> bool {
        let extras = extras.filter(|_| self.checking);
        if !closed && extras.is_none() {
            return true;
        }
        let mut unread = map
            .iter()
            .enumerate()
            .filter(|(i, _)| read.get(i / 64).is_none_or(|w| w & (1 << (i % 64)) == 0))
            .map(|(_, member)| member);
        let Some(check) = extras else {
            // The pointer is the object's, as JSON Schema's `additionalProperties` reports it.
            if let Some((extra, _)) = unread.next() {
                self.record_failure(format!("unknown field `{extra}`"));
            }
            return false;
        };
        for (key, value) in unread {
            if !self.check(check, value) {
                self.unwind(Step::Key(key));
                return false;
            }
        }
        true
    }

    /// The fields of an object (its members), to be read by a [`Record`].
    fn fields<'d>(&'d mut self, map: &'d [(&'v str, &'v Node)]) -> Fields<'d, 'v> {
        Fields {
            decoder: self,
            map,
            cursor: 0,
            // One word covers all but the rarest objects; `from_elem` would take its general
            // path even then.
            read: match map.len().div_ceil(64) {
                0 | 1 => SmallVec::from_buf([0]),
                words => smallvec::smallvec![0; words],
            },
            seen: 0,
        }
    }

    /// Reads a string that must be one of `T`'s spellings.
    pub fn str_enum<T: StrEnum>(&mut self, value: &'v Node) -> Option<T> {
        let Some(text) = value.as_str() else {
            return self.expected("a string", value);
        };
        match T::VARIANTS.iter().find(|(name, _)| *name == text) {
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
        value: &'v Node,
        what: &str,
        shapes: &[fn(&mut Decoder<'v>, &'v Node) -> Option<T>],
    ) -> Option<T> {
        // Each shape is tried in this decoder; the failure of a shape that did not fit is
        // dropped before the next.
        let before = self.failure.take();
        for shape in shapes {
            if let Some(out) = shape(self, value) {
                self.failure = before;
                return Some(out);
            }
            self.failure = None;
        }
        self.failure = before;
        self.fail(format!(
            "{} fits none of the shapes of {what}",
            value.kind()
        ))
    }
}

impl<'v> Fields<'_, 'v> {
    fn lookup(&mut self, name: &'static str) -> Option<(&'v str, &'v Node)> {
        let guess = self.decoder.hints.get(name);
        let at = if let Some(at) =
            guess.filter(|&at| self.map.get(at).is_some_and(|(k, _)| same_name(k, name)))
        {
            at
        } else {
            let start = self.cursor.min(self.map.len());
            let (head, tail) = self.map.split_at(start);
            let at = match tail.iter().position(|(k, _)| same_name(k, name)) {
                Some(i) => start + i,
                None => head.iter().position(|(k, _)| same_name(k, name))?,
            };
            self.decoder.hints.set(name, at);
            at
        };
        self.cursor = at + 1;
        let (word, bit) = (at / 64, 1u64 << (at % 64));
        if let Some(w) = self.read.get_mut(word)
            && *w & bit == 0
        {
            *w |= bit;
            self.seen += 1;
        }
        self.map.get(at).copied()
    }

    /// A required field, its value satisfying `check` (when the decoder checks).
    pub fn req<T: Decode>(
        &mut self,
        name: &'static str,
        check: Option<&'static Check>,
    ) -> Option<T> {
        match self.lookup(name) {
            Some((key, value)) => self.decoder.checked_at_key(key, value, check),
            None => self.decoder.fail(format!("missing field `{name}`")),
        }
    }

    /// An optional field: absent is `None`. (A `null` is decoded by `T`; for a nullable field
    /// `T` is itself an `Option`.)
    pub fn opt<T: Decode>(
        &mut self,
        name: &'static str,
        check: Option<&'static Check>,
    ) -> Option<Option<T>> {
        match self.lookup(name) {
            Some((key, value)) => self.decoder.checked_at_key(key, value, check).map(Some),
            None => Some(None),
        }
    }

    /// An optional, nullable field: absent and `null` are both `None`.
    pub fn nullable<T: Decode>(
        &mut self,
        name: &'static str,
        check: Option<&'static Check>,
    ) -> Option<Option<T>> {
        self.opt::<Option<T>>(name, check).map(Option::flatten)
    }

    /// The fields of the base record this one extends.
    pub fn base<T: Record>(&mut self) -> Option<T> {
        T::read(self)
    }
}

/// Whether a member's name is `name`. Names are short, so the bytes are compared inline, two
/// overlapping words at a time, rather than through a call to `memcmp`.
#[inline]
fn same_name(key: &str, name: &str) -> bool {
    let (a, b) = (key.as_bytes(), name.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two loads that overlap when the length is not a multiple of the word.
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        9..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        // Nova's prefixed names (`OS-FLV-EXT-DATA:ephemeral`) are this long.
        17..=32 => {
            word::<16>(a, 0) == word::<16>(b, 0) && word::<16>(a, n - 16) == word::<16>(b, n - 16)
        }
        _ => a == b,
    }
}

/// `N` bytes of `s` from `at` (zeros past its end, which the callers never reach).
#[inline(always)]
fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    s.get(at..at + N)
        .and_then(|w| <[u8; N]>::try_from(w).ok())
        .unwrap_or([0; N])
}

/// Implements [`Decode`] for generated structs through their [`Record`] impl.
#[macro_export]
macro_rules! records {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::decode::Decode for $t {
            fn decode<'v>(
                d: &mut $crate::decode::Decoder<'v>,
                value: &'v $crate::decode::Node,
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
                value: &'v $crate::decode::Node,
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

/// A JSON pointer token for a key.
fn escape(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    }
}

/// Decode for the JSON scalars: each a reader and what the JSON must be.
macro_rules! scalars {
    ($($t:ty => $read:expr, $what:literal;)*) => {$(
        impl Decode for $t {
            fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
                let read: fn(&Node) -> Option<$t> = $read;
                match read(value) {
                    Some(v) => Some(v),
                    None => d.expected($what, value),
                }
            }
        }
    )*};
}

fn int(node: &Node) -> Option<i128> {
    match node.view() {
        View::Int(i) => Some(i.into()),
        View::UInt(u) => Some(u.into()),
        _ => None,
    }
}

scalars! {
    String => |v| v.as_str().map(str::to_owned), "a string";
    bool => Node::as_bool, "a boolean";
    i64 => |v| int(v).and_then(|n| i64::try_from(n).ok()), "an integer";
    u64 => |v| int(v).and_then(|n| u64::try_from(n).ok()), "a non-negative integer";
    u32 => |v| int(v).and_then(|n| u32::try_from(n).ok()), "an integer from 0 to 4294967295";
    i32 => |v| int(v).and_then(|n| i32::try_from(n).ok()), "a 32-bit integer";
    f64 => |v| v.as_f64(), "a number";
}

impl Decode for Value {
    fn decode<'v>(_: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
        Some(value.to_value())
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
        if value.is_null() {
            Some(None)
        } else {
            T::decode(d, value).map(Some)
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
        let Some(items) = value.as_array() else {
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
    fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
        let Some(map) = value.as_object() else {
            return d.expected("an object", value);
        };
        let mut out = BTreeMap::new();
        for (key, item) in map.iter() {
            out.insert(key.to_owned(), d.at_key(key, item)?);
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

    /// `Item`'s field names, each at one address (as a literal at one place in generated code).
    static ID: &str = "id";
    static NAME: &str = "name";

    impl Record for Item {
        fn read<'v>(f: &mut Fields<'_, 'v>) -> Option<Self> {
            Some(Self {
                id: f.req(ID, None)?,
                name: f.opt(NAME, None)?,
            })
        }
    }

    impl Decode for Item {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
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
                extra: f.req("extra", None)?,
                base: f.base()?,
            })
        }
    }

    impl Decode for Extended {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
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
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
            d.str_enum(value)
        }
    }

    fn fails<T: Decode + std::fmt::Debug>(value: Value) -> DecodeFailure {
        from_value::<T>(&value).unwrap_err()
    }

    #[test]
    fn records_decode_and_refuse_unknown_and_missing_fields() {
        let items: Vec<Item> = from_value(&json!([{"id": 1}, {"id": 2, "name": "b"}])).unwrap();
        assert_eq!(items[1].name.as_deref(), Some("b"));
        let e = fails::<Vec<Item>>(json!([{"id": 1}, {"id": 2, "extra": 1}]));
        assert_eq!(
            e.pointer, "/1",
            "the object, as additionalProperties reports it"
        );
        assert_eq!(e.message, "unknown field `extra`");
        let e = fails::<Vec<Item>>(json!([{"name": "x"}]));
        assert_eq!(
            (e.pointer.as_str(), e.message.as_str()),
            ("/0", "missing field `id`")
        );
        let e = fails::<BTreeMap<String, Item>>(json!({"a/b": {"id": "x"}}));
        assert_eq!(e.pointer, "/a~1b/id");
    }

    #[test]
    fn names_compare_equal_only_when_every_byte_matches() {
        for n in 0..40 {
            let name: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(same_name(&name.clone(), &name), "length {n}");
            // One byte changed, wherever it is, or one byte more or less.
            for at in 0..n {
                let mut other = name.clone().into_bytes();
                other[at] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!same_name(&other, &name), "length {n}, byte {at}");
            }
            assert!(!same_name(&format!("{name}_"), &name), "length {n}");
            assert!(!same_name(&name[..n.saturating_sub(1)], &name) || n == 0);
        }
    }

    #[test]
    fn failures_point_at_where_they_happen_however_deep() {
        // Each level a failure passes through puts its step in front: items, keys, a key to
        // escape, and a check's own path below the checked value.
        let e = fails::<Vec<BTreeMap<String, Vec<Item>>>>(
            json!([{"a": []}, {"x/y": [{"id": 1}, {"id": "2"}]}]),
        );
        assert_eq!(
            (e.pointer.as_str(), e.message.as_str()),
            ("/1/x~1y/1/id", "expected an integer, found a string")
        );
        let e = fails::<Extended>(json!({"extra": true, "id": 1, "name": 5}));
        assert_eq!(e.pointer, "/name");
        // A decoder used after a success starts from a clean slate.
        let mut d = Decoder::new();
        let node = Node::parse(br#"[{"id": 1}]"#).unwrap();
        assert!(Vec::<Item>::decode(&mut d, &node).is_some());
        let node = Node::parse(br#"{"k": [{"id": 1}, {}]}"#).unwrap();
        assert!(BTreeMap::<String, Vec<Item>>::decode(&mut d, &node).is_none());
        assert_eq!(d.into_failure().pointer, "/k/1");
    }

    #[test]
    fn hints_learn_the_member_order_and_never_pick_a_field() {
        let (id, name) = (ID, NAME);
        let node = Node::parse(
            br#"[{"name": "a", "id": 1}, {"name": "b", "id": 2}, {"id": 3, "name": "c"}, {"id": 4}]"#,
        )
        .unwrap();
        let mut d = Decoder::new();
        assert_eq!((d.hints.get(id), d.hints.get(name)), (None, None));
        // The order changes from object to object, an optional field goes missing: every
        // object still reads as it would without hints.
        let items = Vec::<Item>::decode(&mut d, &node).unwrap();
        let got: Vec<(i64, Option<&str>)> =
            items.iter().map(|i| (i.id, i.name.as_deref())).collect();
        assert_eq!(
            got,
            [(1, Some("a")), (2, Some("b")), (3, Some("c")), (4, None)]
        );
        // `id` was last found at 0; `name` keeps 1, from the last object that had it.
        assert_eq!((d.hints.get(id), d.hints.get(name)), (Some(0), Some(1)));
        let node = Node::parse(br#"{"name": "z", "id": 9}"#).unwrap();
        let item = Item::decode(&mut d, &node).unwrap();
        assert_eq!((item.id, item.name.as_deref()), (9, Some("z")));
        assert_eq!(
            (d.hints.get(id), d.hints.get(name)),
            (Some(1), Some(0)),
            "the hints follow the last object"
        );
        // A member where a hint points, but under another name, is not taken for the field.
        let node = Node::parse(br#"{"nam": "z", "id": 9}"#).unwrap();
        assert!(Item::decode(&mut d, &node).is_none());
        assert_eq!(d.into_failure().message, "unknown field `nam`");
    }

    #[test]
    fn an_extension_reads_its_base_from_the_same_object() {
        let v: Extended = from_value(&json!({"id": 3, "extra": true})).unwrap();
        assert_eq!(v.base.id, 3);
        let e = fails::<Extended>(json!({"id": 3, "extra": true, "other": 1}));
        assert_eq!(
            (e.pointer.as_str(), e.message.as_str()),
            ("", "unknown field `other`")
        );
        let e = fails::<Extended>(json!({"extra": true}));
        assert_eq!(e.message, "missing field `id`");
    }

    #[test]
    fn enums_nulls_and_shapes() {
        assert_eq!(from_value::<Kind>(&json!("x509")).unwrap(), Kind::X509);
        assert!(fails::<Kind>(json!("rsa")).message.contains("ssh, x509"));
        assert_eq!(from_value::<Option<i64>>(&json!(null)).unwrap(), None);
        let e = fails::<i64>(json!(1.5));
        assert_eq!(e.message, "expected an integer, found a number");
        fn text<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<String> {
            d.first_of(
                value,
                "text",
                &[
                    |d, v| String::decode(d, v),
                    |d, v| i64::decode(d, v).map(|n| n.to_string()),
                ],
            )
        }
        assert_eq!(from_value::<Text>(&json!(7)).unwrap().0, "7");
        let e = fails::<Text>(json!(true));
        assert_eq!(e.message, "a boolean fits none of the shapes of text");
        #[derive(Debug)]
        struct Text(String);
        impl Decode for Text {
            fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
                text(d, value).map(Text)
            }
        }
    }

    static CHECKS: [Check; 2] = [
        Check::NONE.len(Some(2), None),
        Check::NONE
            .types(crate::check::types::STRING)
            .len(Some(2), None),
    ];

    #[derive(Debug)]
    struct Named {
        name: String,
    }

    impl Record for Named {
        fn read<'v>(f: &mut Fields<'_, 'v>) -> Option<Self> {
            Some(Self {
                name: f.req("name", Some(&CHECKS[0]))?,
            })
        }
    }

    impl Decode for Named {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
            d.record(value)
        }
    }

    /// An open record whose other members must be strings of two or more characters.
    #[derive(Debug)]
    struct Tagged {
        id: i64,
    }

    impl Record for Tagged {
        const CLOSED: bool = false;
        const EXTRAS: Option<&'static Check> = Some(&CHECKS[1]);
        fn read<'v>(f: &mut Fields<'_, 'v>) -> Option<Self> {
            Some(Self {
                id: f.req("id", None)?,
            })
        }
    }

    impl Decode for Tagged {
        fn decode<'v>(d: &mut Decoder<'v>, value: &'v Node) -> Option<Self> {
            d.record(value)
        }
    }

    #[test]
    fn an_open_record_checks_its_other_members() {
        let ok: Tagged = from_slice(br#"{"id": 1, "os": "linux", "arch": "x86"}"#).unwrap();
        assert_eq!(ok.id, 1);
        let e = from_slice::<Vec<Tagged>>(br#"[{"id": 1, "os": 7}]"#).unwrap_err();
        assert_eq!(e.pointer, "/0/os", "{e}");
        let e = from_slice::<Tagged>(br#"{"os": "x", "id": 1}"#).unwrap_err();
        assert_eq!(e.pointer, "/os", "{e}");
        let node = Node::parse(br#"{"id": 1, "os": 7}"#).unwrap();
        let mut d = Decoder::types_only();
        assert!(Tagged::decode(&mut d, &node).is_some(), "types only");
    }

    #[test]
    fn field_checks_run_unless_types_only() {
        let ok: Vec<Named> = from_slice(br#"[{"name": "ab"}]"#).unwrap();
        assert_eq!(ok[0].name, "ab");
        let e = from_slice::<Vec<Named>>(br#"[{"name": "ab"}, {"name": "a"}]"#).unwrap_err();
        assert_eq!(e.pointer, "/1/name");
        assert!(e.message.contains("shorter"), "{}", e.message);
        let node = Node::parse(br#"{"name": "a"}"#).unwrap();
        let mut d = Decoder::types_only();
        assert!(Named::decode(&mut d, &node).is_some());
        assert!(
            from_slice::<Named>(b"{")
                .unwrap_err()
                .message
                .starts_with("body is not JSON")
        );
    }
}
