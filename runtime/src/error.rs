//! Errors, mapped the way tempest.lib's `RestClient` maps them.
//!
//! Every error raised about a response carries an [`ErrorContext`]: the operation, the requested
//! and answered microversions, the status and the raw body. The body is never printed by
//! `Display` (it can hold private keys); read it through [`ErrorContext::body`].

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::version::{ApiVersion, Microversion};

/// Where an error happened: the operation, the versions and the response, when there was one.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// The operation (`compute.create_keypair`).
    pub operation: String,
    /// The version the request asked for.
    pub requested: ApiVersion,
    /// The version the server answered, when it said.
    pub answered: Option<Microversion>,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The raw response body (possibly empty).
    pub body: Bytes,
}

impl ErrorContext {
    /// The body as text (lossy for invalid UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The version to report: the answered one when known, else the requested one.
    pub fn version(&self) -> String {
        match self.answered {
            Some(v) => v.to_string(),
            None => self.requested.to_string(),
        }
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at microversion {}", self.operation, self.version())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        Ok(())
    }
}

/// The error classes of tempest.lib's `_error_checker`, by status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpErrorKind {
    /// 400
    BadRequest,
    /// 401
    Unauthorized,
    /// 403
    Forbidden,
    /// 404
    NotFound,
    /// 406
    NotAcceptable,
    /// 409
    Conflict,
    /// 410
    Gone,
    /// 412
    PreconditionFailed,
    /// 413 with an absolute limit
    OverLimit,
    /// 413 with `Retry-After` and a message without "exceed"
    RateLimitExceeded,
    /// 415
    InvalidContentType,
    /// 422
    UnprocessableEntity,
    /// 500
    ServerFault,
    /// 501
    NotImplemented,
    /// Any other status of 400 or more
    UnexpectedResponseCode,
}

impl HttpErrorKind {
    /// Classifies a status (>= 400). `rate_limited` is whether a 413 carries `Retry-After` and
    /// its message lacks "exceed".
    pub fn from_status(status: u16, rate_limited: bool) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            406 => Self::NotAcceptable,
            409 => Self::Conflict,
            410 => Self::Gone,
            412 => Self::PreconditionFailed,
            413 if rate_limited => Self::RateLimitExceeded,
            413 => Self::OverLimit,
            415 => Self::InvalidContentType,
            422 => Self::UnprocessableEntity,
            500 => Self::ServerFault,
            501 => Self::NotImplemented,
            _ => Self::UnexpectedResponseCode,
        }
    }
}

/// A checked fault in a response that is not an HTTP error status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolFault {
    /// The answered version differs from the requested one (Tempest's header check).
    VersionMismatch,
    /// The response carries no microversion header.
    MissingVersionHeader {
        /// The header that was expected.
        header: &'static str,
    },
    /// The microversion header could not be read.
    InvalidVersionHeader {
        /// The header's value.
        value: String,
    },
    /// The success status is not one the version allows (InvalidHttpSuccessCode).
    InvalidHttpSuccessCode {
        /// The statuses the spec allows at this version.
        allowed: Vec<u16>,
    },
    /// A body arrived where the version's schema allows none (InvalidHTTPResponseBody).
    InvalidHttpResponseBody,
    /// A 204/205/304 or a HEAD response carried a body (ResponseWithNonEmptyBody).
    ResponseWithNonEmptyBody,
    /// No response schema covers the answered version (JSONSchemaNotFound).
    NoSchemaForVersion,
    /// An error response had a content type that is neither JSON nor text (UnexpectedContentType).
    UnexpectedContentType {
        /// The content type received.
        content_type: String,
    },
}

impl fmt::Display for ProtocolFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VersionMismatch => f.write_str("answered microversion differs from the request"),
            Self::MissingVersionHeader { header } => write!(f, "missing `{header}` header"),
            Self::InvalidVersionHeader { value } => {
                write!(f, "unreadable microversion header {value:?}")
            }
            Self::InvalidHttpSuccessCode { allowed } => {
                write!(
                    f,
                    "success status not allowed at this version (allowed: {allowed:?})"
                )
            }
            Self::InvalidHttpResponseBody => f.write_str("a body where the schema allows none"),
            Self::ResponseWithNonEmptyBody => f.write_str("a body on a bodiless status"),
            Self::NoSchemaForVersion => f.write_str("no response schema covers this version"),
            Self::UnexpectedContentType { content_type } => {
                write!(f, "unexpected content type {content_type:?}")
            }
        }
    }
}

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status (>= 400).
    #[error("{kind:?}: {context}: {message}")]
    Http {
        /// Tempest's class for the status.
        kind: HttpErrorKind,
        /// The server's message, extracted from the usual fault shapes.
        message: String,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
        /// The operation, versions, status and body.
        context: Box<ErrorContext>,
    },
    /// The response body does not match the schema of the answered version.
    #[error("{context}: response body invalid at {pointer:?} ({schema}): {message}")]
    Validation {
        /// The first failing location, as a JSON pointer.
        pointer: String,
        /// What is wrong there.
        message: String,
        /// The type (and schema) that was expected.
        schema: &'static str,
        /// All violations found by the schema check (at least one).
        violations: Vec<crate::schema::Violation>,
        /// The operation, versions, status and body.
        context: Box<ErrorContext>,
    },
    /// The response broke one of the checks on versions, statuses or bodies.
    #[error("{context}: {fault}")]
    Protocol {
        /// Which check failed.
        fault: ProtocolFault,
        /// The operation, versions, status and body.
        context: Box<ErrorContext>,
    },
    /// The request itself does not fit the requested version.
    #[error("{operation}: {message}")]
    Request {
        /// The operation.
        operation: String,
        /// What does not fit.
        message: String,
    },
    /// The request could not be sent or the response not read.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// The operation.
        operation: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Authentication or catalog failure.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

impl Error {
    /// The Tempest class, for HTTP errors.
    pub fn http_kind(&self) -> Option<HttpErrorKind> {
        match self {
            Self::Http { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The protocol fault, for protocol errors.
    pub fn protocol_fault(&self) -> Option<&ProtocolFault> {
        match self {
            Self::Protocol { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The context (operation, versions, status, body), when a response arrived.
    pub fn context(&self) -> Option<&ErrorContext> {
        match self {
            Self::Http { context, .. }
            | Self::Validation { context, .. }
            | Self::Protocol { context, .. } => Some(context),
            _ => None,
        }
    }
}

/// Extracts a human message from an error body, trying the fault shapes OpenStack services use:
/// `cloudServersFault.message`, `computeFault.message`, `error.message`, `message`, any single
/// wrapper object with a `message` (Nova's `badRequest`, `itemNotFound`, ...), Placement's
/// `errors[0].detail`, and Ironic's `error_message` (JSON inside a string).
pub fn extract_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::from_utf8_lossy(body).trim().to_owned();
    };
    message_from_value(&value).unwrap_or_else(|| value.to_string())
}

fn message_from_value(value: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    for key in ["cloudServersFault", "computeFault", "error"] {
        if let Some(m) = value.get(key).and_then(|f| f.get("message")).and_then(text) {
            return Some(m);
        }
    }
    if let Some(m) = value.get("message").and_then(text) {
        return Some(m);
    }
    if let Some(detail) = value.pointer("/errors/0/detail").and_then(text) {
        return Some(detail);
    }
    if let Some(inner) = value.get("error_message").and_then(|v| v.as_str()) {
        return match serde_json::from_str::<serde_json::Value>(inner) {
            Ok(parsed) => parsed
                .get("faultstring")
                .and_then(text)
                .or_else(|| message_from_value(&parsed)),
            Err(_) => Some(inner.to_owned()),
        };
    }
    match value.as_object() {
        Some(map) if map.len() == 1 => map
            .values()
            .next()
            .and_then(|inner| inner.get("message"))
            .and_then(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_follows_tempest() {
        assert_eq!(
            HttpErrorKind::from_status(400, false),
            HttpErrorKind::BadRequest
        );
        assert_eq!(
            HttpErrorKind::from_status(413, false),
            HttpErrorKind::OverLimit
        );
        assert_eq!(
            HttpErrorKind::from_status(413, true),
            HttpErrorKind::RateLimitExceeded
        );
        assert_eq!(
            HttpErrorKind::from_status(418, false),
            HttpErrorKind::UnexpectedResponseCode
        );
        assert_eq!(
            HttpErrorKind::from_status(503, false),
            HttpErrorKind::UnexpectedResponseCode
        );
    }

    #[test]
    fn messages_from_each_fault_shape() {
        let nova = br#"{"badRequest": {"code": 400, "message": "Invalid input"}}"#;
        assert_eq!(extract_message(nova), "Invalid input");
        let compute = br#"{"computeFault": {"code": 500, "message": "boom"}}"#;
        assert_eq!(extract_message(compute), "boom");
        let placement = br#"{"errors": [{"status": 409, "detail": "stale", "title": "Conflict"}]}"#;
        assert_eq!(extract_message(placement), "stale");
        let ironic =
            br#"{"error_message": "{\"faultstring\": \"Node not found\", \"debuginfo\": null}"}"#;
        assert_eq!(extract_message(ironic), "Node not found");
        assert_eq!(extract_message(b"plain text\n"), "plain text");
    }
}
