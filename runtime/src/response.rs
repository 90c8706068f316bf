//! Typed responses and the decoding of version-switching bodies.

use bytes::Bytes;
use serde_json::Value;

use crate::decode::{Decode, DecodeFailure, Decoder, Node};
use crate::error::{Error, ErrorContext};
use crate::meta::{OperationMeta, VersionedResponse};
use crate::schema::{EmbeddedSchema, Violation};
use crate::version::{ApiVersion, Microversion};

/// How strictly response bodies are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// One pass from the body bytes: the typed decode of the answered version's variant
    /// checks the whole schema as it goes (unknown and missing fields, types, nullability,
    /// enums, patterns, formats, lengths, bounds, item counts, the `oneOf`/`anyOf` forms).
    /// The compiled JSON Schema runs only to explain a failure (every violation). The default.
    #[default]
    Strict,
    /// [`Strict`](Self::Strict), and before it the variant's compiled JSON Schema over a
    /// parsed tree, as Tempest validates: both must accept the body. Slower; for
    /// cross-checking the typed decode against the schema.
    CrossCheck,
    /// Decode the typed variant without the value constraints: unknown fields, missing fields
    /// and wrong types are still errors (the types deny them), patterns, formats, lengths and
    /// bounds are not checked. The schema runs only to explain a failure.
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

/// A checked response whose body is parsed but not yet typed: what the one non-generic call
/// path returns. The generated method turns it into a [`Response`] with [`empty`](Self::empty),
/// [`single`](Self::single) or [`versioned`](Self::versioned).
#[derive(Debug)]
pub struct RawResponse {
    pub(crate) op: &'static OperationMeta,
    pub(crate) status: u16,
    pub(crate) version: Option<Microversion>,
    pub(crate) headers: http::HeaderMap,
    pub(crate) raw: Bytes,
    /// Position in `op.variants`.
    pub(crate) variant: usize,
    pub(crate) mode: Validation,
    /// The version the request asked for (for the error context, built only on failure).
    pub(crate) requested: ApiVersion,
    /// Whether `status` came from a server (not so for [`RawResponse::from_body`]).
    pub(crate) received: bool,
}

/// The environment variable naming a directory where every successful response body is
/// appended (one JSON line per body: service, operation, answered version, body), for the
/// conformance test that replays them through [`Validation::Strict`] and the schema.
pub const CAPTURE_DIR_ENV: &str = "SQUALL_CAPTURE_DIR";

/// Appends a received body to `$SQUALL_CAPTURE_DIR/<pid>.jsonl` when that is set.
pub(crate) fn capture(op: &OperationMeta, answered: Option<Microversion>, raw: &[u8]) {
    static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let Some(dir) = DIR.get_or_init(|| std::env::var_os(CAPTURE_DIR_ENV).map(Into::into)) else {
        return;
    };
    let line = serde_json::json!({
        "service": op.service.name,
        "operation": op.name,
        "version": answered.map(|v| v.to_string()),
        "body": String::from_utf8_lossy(raw),
    });
    let path = dir.join(format!("{}.jsonl", std::process::id()));
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(file, "{line}")
    });
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), "could not capture a response body: {e}");
    }
}

/// In the cross-check and lenient modes, parses a body into a tree and checks it against the
/// schema (the strict and types-only modes check while they decode, from the bytes).
pub(crate) fn parse_and_check(
    op: &OperationMeta,
    schema: Option<&'static EmbeddedSchema>,
    raw: &[u8],
    mode: Validation,
    context: impl Fn() -> Box<ErrorContext>,
) -> Result<(), Error> {
    if matches!(mode, Validation::Strict | Validation::TypedOnly)
        || raw.iter().all(u8::is_ascii_whitespace)
    {
        return Ok(());
    }
    let schema_name = schema.map_or("(no body)", |s| s.name);
    let invalid = |pointer: String, message: String, violations| Error::Validation {
        pointer,
        message,
        schema: schema_name,
        violations,
        context: context(),
    };
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| invalid(String::new(), format!("body is not JSON: {e}"), vec![]))?;
    let Some(schema) = schema else {
        return Ok(());
    };
    let violations = schema
        .violations(&value)
        .map_err(|broken| invalid(String::new(), broken, vec![]))?;
    if let Some(first) = violations.first() {
        if mode == Validation::CrossCheck {
            let (pointer, message) = (first.pointer.clone(), first.message.clone());
            return Err(invalid(pointer, message, violations));
        }
        for v in &violations {
            tracing::warn!(operation = op.name, schema = schema_name, pointer = %v.pointer, "lenient: {}", v.message);
        }
    }
    Ok(())
}

impl RawResponse {
    /// The body as received, before it is typed.
    pub fn body(&self) -> &Bytes {
        &self.raw
    }

    /// A body received elsewhere (a capture, a benchmark) for `op`, answered at `version`:
    /// parsed and checked as a call would check it. Type it with [`single`](Self::single) or
    /// [`versioned`](Self::versioned).
    pub fn from_body(
        op: &'static OperationMeta,
        version: Microversion,
        raw: Bytes,
        mode: Validation,
    ) -> Result<Self, Error> {
        let context = || {
            Box::new(ErrorContext {
                operation: format!("{}.{}", op.service.name, op.name),
                requested: version.into(),
                answered: Some(version),
                status: None,
                body: raw.clone(),
            })
        };
        let variant = op.variant_for(version).ok_or_else(|| Error::Protocol {
            fault: crate::error::ProtocolFault::NoSchemaForVersion,
            context: context(),
        })?;
        let schema = op.variants.get(variant).and_then(|v| v.body);
        parse_and_check(op, schema, &raw, mode, context)?;
        Ok(Self {
            op,
            status: 200,
            version: Some(version),
            headers: http::HeaderMap::new(),
            raw: raw.clone(),
            variant,
            mode,
            requested: version.into(),
            received: false,
        })
    }

    /// The response of an operation without a body.
    pub fn empty(self) -> Result<Response<NoBody>, Error> {
        Ok(self.into_response(NoBody))
    }

    /// The body as the operation's one response type.
    pub fn single<T: Decode>(self) -> Result<Response<T>, Error> {
        let decoded = self.decode(T::decode);
        self.finish(decoded)
    }

    /// The body as the variant of the answered version.
    pub fn versioned<T: VersionedResponse>(self) -> Result<Response<T>, Error> {
        let index = self.op.variants.get(self.variant).map_or(0, |v| v.index);
        let decoded = self.decode(|d, node| T::decode_variant(index, d, node));
        self.finish(decoded)
    }

    /// Parses the body into a document tree (sonic-rs's DOM) and decodes it with `decode`, checking the
    /// constraints unless the mode checks types only.
    fn decode<T>(
        &self,
        decode: impl for<'v> FnOnce(&mut Decoder<'v>, &'v Node) -> Option<T>,
    ) -> Result<T, DecodeFailure> {
        let node = if self.raw.iter().all(u8::is_ascii_whitespace) {
            Node::null()
        } else {
            Node::parse(&self.raw).map_err(|e| DecodeFailure {
                pointer: String::new(),
                message: format!("body is not JSON: {e}"),
            })?
        };
        let mut d = match self.mode {
            Validation::Strict | Validation::CrossCheck => Decoder::new(),
            Validation::TypedOnly | Validation::Lenient => Decoder::types_only(),
        };
        decode(&mut d, &node).ok_or_else(|| d.into_failure())
    }

    fn finish<T>(self, decoded: Result<T, DecodeFailure>) -> Result<Response<T>, Error> {
        match decoded {
            Ok(body) => Ok(self.into_response(body)),
            Err(failure) => Err(self.failure(failure)),
        }
    }

    fn schema(&self) -> Option<&'static EmbeddedSchema> {
        self.op.variants.get(self.variant).and_then(|v| v.body)
    }

    fn into_response<T>(self, body: T) -> Response<T> {
        Response {
            status: self.status,
            version: self.version,
            headers: self.headers,
            raw: self.raw,
            body,
        }
    }

    /// A typed decode failed: the error names the first failure; the schema explains the rest.
    fn failure(self, failure: DecodeFailure) -> Error {
        let schema = self.schema();
        let mut violations = vec![Violation {
            pointer: failure.pointer.clone(),
            message: failure.message.clone(),
        }];
        let value = serde_json::from_slice::<Value>(&self.raw);
        if let (Some(schema), Ok(value)) = (schema, value)
            && let Ok(found) = schema.violations(&value)
        {
            violations.extend(found);
        }
        Error::Validation {
            pointer: failure.pointer,
            message: failure.message,
            schema: schema.map_or("(no body)", |s| s.name),
            violations,
            context: Box::new(ErrorContext {
                operation: format!("{}.{}", self.op.service.name, self.op.name),
                requested: self.requested,
                answered: self.version,
                status: self.received.then_some(self.status),
                body: self.raw,
            }),
        }
    }
}
