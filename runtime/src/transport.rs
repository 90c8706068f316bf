//! The transport: timeouts, the response body limit, what a failed connection is called, the
//! retry policy and Tempest's reading of `Retry-After`.
//!
//! # Defaults
//!
//! | setting | default | what happens past it |
//! | --- | --- | --- |
//! | connect timeout | 10 s | [`TransportFault::ConnectTimeout`] |
//! | read timeout (no byte for this long) | 60 s | [`TransportFault::Timeout`] |
//! | whole-call timeout | 120 s | [`TransportFault::Timeout`] |
//! | response body limit | [`DEFAULT_MAX_BODY_BYTES`] (64 MiB) | [`TransportFault::BodyTooLarge`], refused as soon as the `Content-Length` or the bytes read so far pass it; the body is never buffered past the limit |
//! | redirects followed | 5 | [`TransportFault::TooManyRedirects`] |
//! | retries | none ([`RetryPolicy::none`]) | see [`RetryPolicy`] |
//!
//! Retries are off by default, as in Tempest: a test sees the server's first answer. Tempest's
//! own retry of a rate-limited 413 (at most two, after `Retry-After`) is always on.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

/// The default limit on a response body: 64 MiB. The largest bodies squall's services send
/// (a long server list with details) are a few megabytes.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Timeouts and limits of the HTTP stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSettings {
    /// How long establishing the connection (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long the server may stay silent: waiting for the response head, or between two
    /// reads of the body.
    pub read_timeout: Duration,
    /// How long the whole call (connect, request, response, body) may take; this is what stops
    /// a body that trickles in just fast enough to beat the read timeout.
    pub timeout: Duration,
    /// The largest response body accepted, in bytes.
    pub max_body_bytes: u64,
    /// How many redirects are followed before the call fails.
    pub max_redirects: usize,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(120),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: 5,
        }
    }
}

impl TransportSettings {
    /// A reqwest client builder with these timeouts and redirect limit.
    pub fn http_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::limited(self.max_redirects))
    }
}

/// Where in a call a transport fault happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportPhase {
    /// Establishing the connection (TCP, TLS): the request has not been sent.
    Connect,
    /// The request was (or may have been) sent; no response head has arrived.
    Response,
    /// The response head arrived; the body was being read.
    Body,
}

impl fmt::Display for TransportPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "while connecting",
            Self::Response => "before the response",
            Self::Body => "while reading the body",
        })
    }
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFault {
    /// The chain does not lead to a trusted CA.
    UnknownIssuer,
    /// The certificate is expired (or not yet valid).
    Expired,
    /// The certificate is not valid for the host name that was asked for.
    WrongHostName,
    /// Any other TLS failure, as rustls describes it.
    Other(String),
}

impl fmt::Display for TlsFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownIssuer => f.write_str("certificate signed by an unknown CA"),
            Self::Expired => f.write_str("certificate expired or not yet valid"),
            Self::WrongHostName => f.write_str("certificate not valid for this host name"),
            Self::Other(reason) => f.write_str(reason),
        }
    }
}

/// What went wrong below HTTP: the kind of a [`crate::Error::Transport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFault {
    /// Nothing listens at the address.
    ConnectionRefused,
    /// The connection could not be established in time.
    ConnectTimeout {
        /// The configured connect timeout.
        limit: Duration,
    },
    /// The server reset the connection.
    Reset {
        /// When.
        phase: TransportPhase,
    },
    /// The server closed the connection before sending a response head.
    Closed {
        /// When.
        phase: TransportPhase,
    },
    /// The read timeout or the whole-call timeout passed.
    Timeout {
        /// What the client was waiting for.
        phase: TransportPhase,
        /// How long the call had run.
        elapsed: Duration,
    },
    /// The connection ended before the body reached its `Content-Length`.
    TruncatedBody {
        /// The declared `Content-Length`.
        expected: u64,
        /// The bytes that arrived.
        received: u64,
    },
    /// The body is larger than the configured limit; it was not read past it.
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: u64,
        /// The `Content-Length`, when the server declared one.
        declared: Option<u64>,
        /// The bytes read before refusing (0 when the declared length was enough to refuse).
        received: u64,
    },
    /// Redirects went on past the configured limit (a loop).
    TooManyRedirects {
        /// The configured limit.
        limit: usize,
    },
    /// The TLS handshake failed.
    Tls(TlsFault),
    /// Any other failure to connect, send or receive.
    Other {
        /// When.
        phase: TransportPhase,
        /// reqwest's description.
        reason: String,
    },
}

impl TransportFault {
    /// Whether the request certainly never reached the server (so even a POST may be resent).
    pub fn request_not_sent(&self) -> bool {
        matches!(
            self,
            Self::ConnectionRefused
                | Self::ConnectTimeout { .. }
                | Self::Other {
                    phase: TransportPhase::Connect,
                    ..
                }
        )
    }

    /// Whether another attempt might succeed (connection-level faults, not TLS, limits or
    /// redirect loops).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ConnectionRefused
                | Self::ConnectTimeout { .. }
                | Self::Reset { .. }
                | Self::Closed { .. }
                | Self::Timeout { .. }
                | Self::TruncatedBody { .. }
                | Self::Other { .. }
        )
    }
}

impl fmt::Display for TransportFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::ConnectTimeout { limit } => write!(f, "connect timed out after {limit:?}"),
            Self::Reset { phase } => write!(f, "connection reset {phase}"),
            Self::Closed { phase } => write!(f, "connection closed {phase}"),
            Self::Timeout { phase, elapsed } => {
                write!(f, "timed out {phase} after {elapsed:?}")
            }
            Self::TruncatedBody { expected, received } => write!(
                f,
                "body truncated: {received} of {expected} bytes (Content-Length) arrived"
            ),
            Self::BodyTooLarge {
                limit,
                declared,
                received,
            } => {
                write!(f, "body larger than the limit of {limit} bytes")?;
                match declared {
                    Some(n) => write!(f, " (Content-Length {n}, {received} bytes read)"),
                    None => write!(f, " ({received} bytes read, no Content-Length)"),
                }
            }
            Self::TooManyRedirects { limit } => {
                write!(f, "more than {limit} redirects (a redirect loop?)")
            }
            Self::Tls(fault) => write!(f, "TLS: {fault}"),
            Self::Other { phase, reason } => write!(f, "transport error {phase}: {reason}"),
        }
    }
}

/// Names a reqwest failure. `phase` is how far the call got; `elapsed` how long it ran.
pub fn classify(
    error: &reqwest::Error,
    phase: TransportPhase,
    settings: &TransportSettings,
    elapsed: Duration,
) -> TransportFault {
    if error.is_redirect() {
        return TransportFault::TooManyRedirects {
            limit: settings.max_redirects,
        };
    }
    let mut io_kind = None;
    if let Some(tls) = find_causes(error, &mut io_kind) {
        return TransportFault::Tls(tls_fault(tls));
    }
    let phase = if error.is_connect() {
        TransportPhase::Connect
    } else {
        phase
    };
    use std::io::ErrorKind;
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => return TransportFault::ConnectionRefused,
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe) => {
            return TransportFault::Reset { phase };
        }
        _ => {}
    }
    if error.is_timeout() || io_kind == Some(ErrorKind::TimedOut) {
        return if phase == TransportPhase::Connect {
            TransportFault::ConnectTimeout {
                limit: settings.connect_timeout,
            }
        } else {
            TransportFault::Timeout { phase, elapsed }
        };
    }
    let reason = chain_text(error);
    if phase == TransportPhase::Response && reason.contains("connection closed before message") {
        return TransportFault::Closed { phase };
    }
    TransportFault::Other { phase, reason }
}

/// Walks an error's causes, looking inside `io::Error`s too (their `source` skips the error
/// they wrap): returns the rustls error if there is one, and records the first specific I/O
/// error kind.
fn find_causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
    io_kind: &mut Option<std::io::ErrorKind>,
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() != std::io::ErrorKind::Other && io_kind.is_none() {
                *io_kind = Some(io.kind());
            }
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = e.source();
    }
    None
}

fn tls_fault(error: &rustls::Error) -> TlsFault {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => TlsFault::UnknownIssuer,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TlsFault::Expired,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsFault::WrongHostName,
            other => TlsFault::Other(format!("invalid certificate: {other:?}")),
        },
        other => TlsFault::Other(other.to_string()),
    }
}

/// The error and its sources, joined with `: `.
pub(crate) fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Reads a response body, refusing it as soon as it is known to pass `limit` bytes: at once
/// from its `Content-Length`, else when the bytes read so far pass it. On failure it returns the
/// fault, the reqwest error behind it (if any) and the bytes read so far.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    settings: &TransportSettings,
    started: std::time::Instant,
) -> Result<Bytes, (TransportFault, Option<reqwest::Error>, Bytes)> {
    let limit = settings.max_body_bytes;
    let declared = response.content_length();
    if let Some(length) = declared.filter(|&n| n > limit) {
        return Err((
            TransportFault::BodyTooLarge {
                limit,
                declared: Some(length),
                received: 0,
            },
            None,
            Bytes::new(),
        ));
    }
    let capacity = declared.unwrap_or(0).min(limit).min(1 << 20);
    let mut body = Received::default();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let received = body.len() as u64 + chunk.len() as u64;
                if received > limit {
                    return Err((
                        TransportFault::BodyTooLarge {
                            limit,
                            declared,
                            received,
                        },
                        None,
                        body.into_bytes(),
                    ));
                }
                body.push(chunk, capacity);
            }
            Ok(None) => return Ok(body.into_bytes()),
            Err(e) => {
                let received = body.len() as u64;
                let mut fault = classify(&e, TransportPhase::Body, settings, started.elapsed());
                if let (TransportFault::Other { .. }, Some(expected)) = (&fault, declared)
                    && received < expected
                {
                    fault = TransportFault::TruncatedBody { expected, received };
                }
                return Err((fault, Some(e), body.into_bytes()));
            }
        }
    }
}

/// The body read so far: a body that arrives in one chunk (most do) is kept as that chunk,
/// without a copy; a second chunk starts a buffer.
#[derive(Default)]
struct Received {
    first: Bytes,
    more: Option<BytesMut>,
}

impl Received {
    fn len(&self) -> usize {
        self.more.as_ref().map_or(self.first.len(), BytesMut::len)
    }

    fn push(&mut self, chunk: Bytes, capacity: u64) {
        match &mut self.more {
            Some(buffer) => buffer.extend_from_slice(&chunk),
            None if self.first.is_empty() => self.first = chunk,
            None => {
                let wanted = usize::try_from(capacity).unwrap_or(0);
                let mut buffer =
                    BytesMut::with_capacity(wanted.max(self.first.len() + chunk.len()));
                buffer.extend_from_slice(&self.first);
                buffer.extend_from_slice(&chunk);
                self.more = Some(buffer);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        self.more.map_or(self.first, BytesMut::freeze)
    }
}

/// When and how often a failed call is sent again.
///
/// A call is retried only when all of these hold:
/// - fewer than [`max_retries`](Self::max_retries) retries were made;
/// - the method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS) and the failure is a transient
///   connection fault (refused, reset, closed, timed out, truncated) or a 502, 503 or 504; or,
///   for any method (POST, PATCH), the request certainly never left the client (connection
///   refused, connect timeout): a POST is never resent once it may have reached the server;
/// - the wait is at most [`max_delay`](Self::max_delay).
///
/// The wait is the response's `Retry-After` (seconds or an HTTP date, read as Tempest reads
/// it) when there is one, else exponential backoff with jitter: attempt `n` (from 0) waits a
/// random time between half and all of `min(base_delay * 2^n, max_delay)`. Each retry is
/// logged at `INFO` (operation, attempt, reason, wait).
///
/// Tempest's retry of a rate-limited 413 is separate and always on (at most two retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 turns retrying off.
    pub max_retries: u32,
    /// The first backoff step.
    pub base_delay: Duration,
    /// The longest wait: longer backoff is capped to it, and a longer `Retry-After` ends the
    /// retries (the error is returned).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// No retries (Tempest's behaviour).
    fn default() -> Self {
        Self::none()
    }
}

impl RetryPolicy {
    /// No retries.
    pub const fn none() -> Self {
        Self {
            max_retries: 0,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }

    /// Three retries, 0.5 s first step, waits capped at 30 s.
    pub const fn standard() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }

    /// Sets the number of retries.
    pub const fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the first backoff step and the longest wait.
    pub const fn with_delays(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Whether `method` may be sent twice with the same effect.
    pub fn is_idempotent(method: &str) -> bool {
        matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS")
    }

    /// The backoff before retry `attempt` (0 for the first retry), with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        let full = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = full / 2;
        let jitter = fastrand::u64(0..=u64::try_from(half.as_micros()).unwrap_or(u64::MAX));
        half + Duration::from_micros(jitter)
    }

    /// The wait before retry `attempt` of `method` after `error`, or `None` when the call must
    /// not be retried.
    pub fn decide(&self, method: &str, error: &crate::Error, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let idempotent = Self::is_idempotent(method);
        let wait = match error {
            crate::Error::Transport { fault, .. } => {
                let allowed = fault.request_not_sent() || (idempotent && fault.is_transient());
                allowed.then(|| self.backoff(attempt))
            }
            crate::Error::Http {
                context,
                retry_after,
                ..
            } if idempotent && matches!(context.status, Some(502..=504)) => {
                Some(retry_after.unwrap_or_else(|| self.backoff(attempt)))
            }
            _ => None,
        }?;
        (wait <= self.max_delay).then_some(wait)
    }
}

/// Why a `Retry-After` value gives no delay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryAfterError {
    /// Neither an integer nor a date `email.utils.parsedate` would read.
    #[error("Retry-After {value:?} is neither seconds nor an HTTP date")]
    Unreadable {
        /// The header's value.
        value: String,
    },
    /// A date, but the response has no (readable) `Date` header to measure it from.
    #[error("Retry-After {value:?} is a date but the response has no readable Date header")]
    NoDate {
        /// The header's value.
        value: String,
    },
}

/// Reads `Retry-After` as Tempest's `_get_retry_after_delay` does: an integer number of
/// seconds, or an HTTP date measured from the response's `Date` header (a date without `Date`
/// is an error, as in Tempest); never less than 1 s.
///
/// Dates are read like Python's `email.utils.parsedate`: RFC 2822 dates with or without the
/// weekday, one- or two-digit days (`Mon, 4 Apr 2016 21:58:26 GMT`), obsolete zone names; the
/// zone itself is ignored, as `parsedate` ignores it (both dates are wall-clock times).
pub fn parse_retry_after(value: &str, date: Option<&str>) -> Result<Duration, RetryAfterError> {
    let clamp = |seconds: i64| Duration::from_secs(seconds.max(1).unsigned_abs());
    if let Ok(seconds) = value.trim().parse::<i64>() {
        return Ok(clamp(seconds));
    }
    let Some(at) = parsedate(value) else {
        return Err(RetryAfterError::Unreadable {
            value: value.to_owned(),
        });
    };
    let Some(now) = date.and_then(parsedate) else {
        return Err(RetryAfterError::NoDate {
            value: value.to_owned(),
        });
    };
    Ok(clamp((at - now).num_seconds()))
}

/// `email.utils.parsedate`: the wall-clock time of an RFC 2822 date, zone ignored.
fn parsedate(text: &str) -> Option<chrono::NaiveDateTime> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|d| d.naive_local())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Result<Duration, RetryAfterError> {
        Ok(Duration::from_secs(n))
    }

    #[test]
    fn retry_after_in_seconds_is_clamped_to_one() {
        assert_eq!(parse_retry_after("5", None), secs(5));
        assert_eq!(parse_retry_after(" 7 ", None), secs(7));
        assert_eq!(parse_retry_after("0", None), secs(1));
        assert_eq!(parse_retry_after("-3", None), secs(1));
    }

    #[test]
    fn retry_after_date_is_relative_to_the_date_header() {
        let date = Some("Mon, 23 Nov 2026 10:00:00 GMT");
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", date),
            secs(30)
        );
        // In the past: at least one second, as Tempest clamps it.
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 09:00:00 GMT", date),
            secs(1)
        );
    }

    #[test]
    fn retry_after_date_with_a_single_digit_day_parses_like_parsedate() {
        assert_eq!(
            parse_retry_after(
                "Mon, 4 Apr 2016 21:58:26 GMT",
                Some("Mon, 4 Apr 2016 21:58:16 GMT")
            ),
            secs(10)
        );
        // Without the weekday, and across a day boundary.
        assert_eq!(
            parse_retry_after(
                "5 Apr 2016 00:00:05 GMT",
                Some("Mon, 4 Apr 2016 23:59:55 GMT")
            ),
            secs(10)
        );
    }

    #[test]
    fn retry_after_zone_is_ignored_as_parsedate_ignores_it() {
        // parsedate returns the wall-clock fields only; Tempest subtracts those.
        assert_eq!(
            parse_retry_after(
                "Mon, 4 Apr 2016 21:58:46 +0200",
                Some("Mon, 4 Apr 2016 21:58:26 GMT")
            ),
            secs(20)
        );
    }

    #[test]
    fn retry_after_date_without_date_header_is_an_error() {
        assert_eq!(
            parse_retry_after("Mon, 4 Apr 2016 21:58:26 GMT", None),
            Err(RetryAfterError::NoDate {
                value: "Mon, 4 Apr 2016 21:58:26 GMT".to_owned()
            })
        );
        assert!(matches!(
            parse_retry_after("Mon, 4 Apr 2016 21:58:26 GMT", Some("yesterday")),
            Err(RetryAfterError::NoDate { .. })
        ));
    }

    #[test]
    fn unreadable_retry_after_is_an_error() {
        assert!(matches!(
            parse_retry_after("soon", Some("Mon, 4 Apr 2016 21:58:26 GMT")),
            Err(RetryAfterError::Unreadable { .. })
        ));
        assert!(matches!(
            parse_retry_after("", None),
            Err(RetryAfterError::Unreadable { .. })
        ));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy::standard()
            .with_delays(Duration::from_millis(100), Duration::from_millis(300));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let first = policy.backoff(0);
            assert!(
                first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            seen.insert(first);
            let late = policy.backoff(10);
            assert!(
                late >= Duration::from_millis(150) && late <= Duration::from_millis(300),
                "{late:?}"
            );
        }
        assert!(seen.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn only_idempotent_methods_are_retried_after_the_request_may_have_arrived() {
        for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
            assert!(RetryPolicy::is_idempotent(m), "{m}");
        }
        for m in ["POST", "PATCH"] {
            assert!(!RetryPolicy::is_idempotent(m), "{m}");
        }
        assert!(TransportFault::ConnectionRefused.request_not_sent());
        assert!(
            !TransportFault::Reset {
                phase: TransportPhase::Response
            }
            .request_not_sent()
        );
        assert!(!TransportFault::Tls(TlsFault::Expired).is_transient());
    }
}
