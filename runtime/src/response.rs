//! Typed responses and the decoding of version-switching bodies.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::schema::{EmbeddedSchema, Violation};
use crate::version::Microversion;

/// How strictly response bodies are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Parse once into a JSON tree, validate it with the variant's compiled schema (formats,
    /// lengths, patterns, enums), then deserialize the typed variant from that tree. The default.
    #[default]
    Strict,
    /// Deserialize straight from the bytes into the typed variant. Unknown fields, missing
    /// fields and wrong types are still errors (the types deny them); the schema runs only to
    /// explain a failure. The fastest strict-ish path.
    TypedOnly,
    /// For exploring an unknown cloud: version, status and schema faults are logged as warnings
    /// instead of failing. The typed decode must still succeed. Opt-in and loud.
    Lenient,
}

/// A successful, checked response: the typed body plus everything raw.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// The HTTP status.
    pub status: u16,
    /// The microversion the server answered; `None` for unversioned resources (version documents).
    pub version: Option<Microversion>,
    /// All response headers.
    pub headers: http::HeaderMap,
    /// The raw body bytes.
    pub raw: Bytes,
    /// The typed body, as the answered version's variant.
    pub body: T,
}

impl<T> Response<T> {
    /// The typed body.
    pub fn into_body(self) -> T {
        self.body
    }

    /// The raw body as text (lossy for invalid UTF-8).
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The body of an operation that never returns one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoBody;

/// A body that failed to decode: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// JSON pointer of the first failure.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The type that was expected.
    pub schema: &'static str,
    /// Every schema violation found (the typed failure is first when the schema saw none).
    pub violations: Vec<Violation>,
}

/// A response type that switches on the answered version; implemented by the generated
/// response enums. `variant` is the index chosen from the operation's spans.
pub trait VersionedBody: Sized {
    /// Decodes the body of `variant`.
    fn decode(variant: usize, body: BodyDecoder<'_>) -> Result<Self, DecodeError>;
}

impl VersionedBody for NoBody {
    fn decode(_variant: usize, body: BodyDecoder<'_>) -> Result<Self, DecodeError> {
        body.empty().map(|()| NoBody)
    }
}

/// Decodes one variant's body; handed to [`VersionedBody::decode`].
#[derive(Debug)]
pub struct BodyDecoder<'a> {
    bytes: &'a [u8],
    schema: Option<&'static EmbeddedSchema>,
    mode: Validation,
}

impl<'a> BodyDecoder<'a> {
    /// A decoder over `bytes` for a variant described by `schema`.
    pub fn new(bytes: &'a [u8], schema: Option<&'static EmbeddedSchema>, mode: Validation) -> Self {
        Self {
            bytes,
            schema,
            mode,
        }
    }

    fn schema_name(&self) -> &'static str {
        self.schema.map_or("(no body)", |s| s.name)
    }

    /// The error for a variant index the response type does not have (a generator bug).
    pub fn unknown_variant(self, variant: usize) -> DecodeError {
        self.failure("", format!("no response variant {variant}"), vec![])
    }

    /// The variant has no body: checks that none arrived.
    pub fn empty(self) -> Result<(), DecodeError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(self.failure(
                "",
                "a body arrived where none is allowed".to_owned(),
                vec![],
            ))
        }
    }

    /// Decodes the variant's typed body, validating it as the mode says.
    pub fn json<T: DeserializeOwned>(self) -> Result<T, DecodeError> {
        match self.mode {
            Validation::TypedOnly => self.typed_from_bytes(),
            Validation::Strict | Validation::Lenient => self.validated(),
        }
    }

    fn validated<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let value: Value = serde_json::from_slice(self.bytes)
            .map_err(|e| self.failure("", format!("body is not JSON: {e}"), vec![]))?;
        let violations = self.check_schema(&value)?;
        if let Some(first) = violations.first() {
            if self.mode == Validation::Strict {
                let (pointer, message) = (first.pointer.clone(), first.message.clone());
                return Err(self.failure(&pointer, message, violations));
            }
            for v in &violations {
                tracing::warn!(schema = self.schema_name(), pointer = %v.pointer, "lenient: {}", v.message);
            }
        }
        serde_path_to_error::deserialize(&value).map_err(|e| self.typed_failure(e, violations))
    }

    fn typed_from_bytes<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let mut de = serde_json::Deserializer::from_slice(self.bytes);
        let result = serde_path_to_error::deserialize(&mut de);
        match result {
            Ok(v) => de.end().map(|()| v).map_err(|e| {
                self.failure("", format!("trailing data after the body: {e}"), vec![])
            }),
            Err(e) => {
                // Only on failure: ask the schema for a fuller explanation.
                let violations = serde_json::from_slice::<Value>(self.bytes)
                    .ok()
                    .map(|value| self.check_schema(&value))
                    .transpose()?
                    .unwrap_or_default();
                Err(self.typed_failure(e, violations))
            }
        }
    }

    fn check_schema(&self, value: &Value) -> Result<Vec<Violation>, DecodeError> {
        match self.schema {
            Some(schema) => schema
                .violations(value)
                .map_err(|broken| self.failure("", broken, vec![])),
            None => Ok(vec![]),
        }
    }

    fn typed_failure(
        &self,
        error: serde_path_to_error::Error<serde_json::Error>,
        violations: Vec<Violation>,
    ) -> DecodeError {
        let mut pointer = pointer_of(error.path());
        let message = error.inner().to_string();
        if let Some(field) = unknown_field(&message) {
            let segment = format!("/{}", escape_pointer(field));
            if !pointer.ends_with(&segment) {
                pointer.push_str(&segment);
            }
        }
        let mut all = vec![Violation {
            pointer: pointer.clone(),
            message: message.clone(),
        }];
        all.extend(violations);
        self.failure(&pointer, message, all)
    }

    fn failure(&self, pointer: &str, message: String, violations: Vec<Violation>) -> DecodeError {
        DecodeError {
            pointer: pointer.to_owned(),
            message,
            schema: self.schema_name(),
            violations,
        }
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&escape_pointer(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct List {
        items: Vec<Item>,
    }

    #[test]
    fn typed_failures_carry_json_pointers() {
        let body = br#"{"items": [{"id": 1}, {"id": "x"}]}"#;
        let err = BodyDecoder::new(body, None, Validation::TypedOnly)
            .json::<List>()
            .unwrap_err();
        assert_eq!(err.pointer, "/items/1/id");

        let body = br#"{"items": [{"id": 1, "extra": true}]}"#;
        for mode in [Validation::Strict, Validation::TypedOnly] {
            let err = BodyDecoder::new(body, None, mode)
                .json::<List>()
                .unwrap_err();
            assert_eq!(err.pointer, "/items/0/extra", "{mode:?}");
            assert!(err.message.contains("unknown field"), "{}", err.message);
        }
    }

    #[test]
    fn empty_rejects_a_body() {
        assert!(
            BodyDecoder::new(b"", None, Validation::Strict)
                .empty()
                .is_ok()
        );
        assert!(
            BodyDecoder::new(b"{}", None, Validation::Strict)
                .empty()
                .is_err()
        );
    }
}
