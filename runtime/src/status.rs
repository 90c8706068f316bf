//! Tempest's reading of an error response: the class of its status code and its message.
//! Kept apart from [`crate::error`] so that authentication can use it without a cycle.

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
