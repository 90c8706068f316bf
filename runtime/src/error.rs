//! Errors, mapped the way tempest.lib's `RestClient` maps them.
//!
//! Every error raised about a response carries an [`ErrorContext`]: the operation, the requested
//! and answered microversions, the status and the raw body. The body is never printed by
//! `Display` (it can hold private keys); read it through [`ErrorContext::body`].

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::transport::TransportFault;
use crate::version::{ApiVersion, Microversion};

pub use crate::status::{HttpErrorKind, extract_message};

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
    /// An error response had a content type that is neither JSON nor text, or a success
    /// response with a body had one that is not JSON (UnexpectedContentType).
    UnexpectedContentType {
        /// The content type received.
        content_type: String,
    },
    /// A success body is not UTF-8 (JSON must be).
    InvalidUtf8 {
        /// How many leading bytes are valid UTF-8.
        valid_up_to: usize,
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
            Self::InvalidUtf8 { valid_up_to } => {
                write!(f, "body is not UTF-8 (valid up to byte {valid_up_to})")
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
    /// The request could not be sent or the response not read: connection refused or reset,
    /// a timeout, a truncated or oversized body, a redirect loop, a TLS failure.
    #[error("{context}: {fault}")]
    Transport {
        /// What went wrong, and when.
        fault: TransportFault,
        /// The operation and requested version; the status, answered version and the bytes
        /// received so far when a response head had arrived.
        context: Box<ErrorContext>,
        /// The underlying reqwest error, when there is one.
        #[source]
        source: Option<reqwest::Error>,
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

    /// The transport fault, for transport errors.
    pub fn transport_fault(&self) -> Option<&TransportFault> {
        match self {
            Self::Transport { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The context (operation, versions, status, body); for a transport error, what had
    /// arrived before it.
    pub fn context(&self) -> Option<&ErrorContext> {
        match self {
            Self::Http { context, .. }
            | Self::Validation { context, .. }
            | Self::Protocol { context, .. }
            | Self::Transport { context, .. } => Some(context),
            _ => None,
        }
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
