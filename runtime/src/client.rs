//! The REST client and the per-service client that generated clients wrap.
//!
//! A call goes: headers (token, microversion as the spec declares it) -> send -> error mapping
//! (Tempest's table) -> answered-version check -> variant selection by the answered version ->
//! success-status check for that version -> body checks -> validated decode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::{Error, ErrorContext, HttpErrorKind, ProtocolFault, extract_message};
use crate::meta::{OpSpan, OperationMeta, ServiceMeta, Span, VersionedRequest};
use crate::provider::AuthProvider;
use crate::redact::{TraceFilter, redact_body, redact_headers};
use crate::response::{RawResponse, Validation};
use crate::secret::Secret;
use crate::version::{ApiVersion, Microversion};

/// How many times a rate-limited (413 with `Retry-After`) request is retried, as in Tempest.
const RATE_LIMIT_RETRIES: usize = 2;

/// A service's zero-sized marker type; it ties clients and factories to their service.
pub trait Service: 'static {
    /// The service as its spec describes it.
    const META: &'static ServiceMeta;
}

/// A client the generator emitted for one group of a service's operations.
pub trait GeneratedClient: Sized {
    /// The service whose operations the client calls.
    type Service: Service;
    /// Wraps a service client (endpoint, token, microversion).
    fn from_service_client(inner: ServiceClient) -> Self;
}

/// An HTTP client with its credentials, shared by every service client built from it.
///
/// The token comes from a shared [`AuthProvider`] (renewed before expiry, and once after a
/// 401), or is a fixed one given with [`with_token`](Self::with_token).
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    token: Option<Secret>,
    auth: Option<Arc<AuthProvider>>,
    validation: Validation,
    trace: TraceFilter,
}

impl RestClient {
    /// A client with a default HTTP stack (30 s timeout) and no token.
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self::with_http(http))
    }

    /// A client over an existing reqwest client.
    pub fn with_http(http: reqwest::Client) -> Self {
        Self {
            http,
            token: None,
            auth: None,
            validation: Validation::default(),
            trace: TraceFilter::default(),
        }
    }

    /// Sends this fixed token (`X-Auth-Token`) on every request; it is never renewed.
    pub fn with_token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// Takes tokens from a shared auth provider: renewed before expiry, and once after a 401.
    /// It wins over a fixed token.
    pub fn with_auth(mut self, provider: Arc<AuthProvider>) -> Self {
        self.auth = Some(provider);
        self
    }

    /// Logs the requests and responses of the operations `filter` matches, redacted, at
    /// `INFO` on target `squall::trace`.
    pub fn with_trace(mut self, filter: TraceFilter) -> Self {
        self.trace = filter;
        self
    }

    /// The auth provider, when there is one.
    pub fn auth(&self) -> Option<&Arc<AuthProvider>> {
        self.auth.as_ref()
    }

    /// How strictly bodies are checked.
    pub fn validation(&self) -> Validation {
        self.validation
    }

    /// The current token: the provider's (fetched or renewed as needed), else the fixed one.
    pub async fn token(&self) -> Result<Option<Secret>, crate::auth::AuthError> {
        match &self.auth {
            Some(provider) => provider.token().await.map(Some),
            None => Ok(self.token.clone()),
        }
    }

    /// Sets how strictly bodies are checked. [`Validation::Lenient`] logs a warning now.
    pub fn with_validation(mut self, validation: Validation) -> Self {
        if validation == Validation::Lenient {
            tracing::warn!("lenient validation enabled: response faults are only logged");
        }
        self.validation = validation;
        self
    }

    /// The underlying reqwest client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Path parameters, query and body for one operation; built by the generated clients.
#[derive(Debug, Default)]
pub struct Request {
    params: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    spans: Vec<(&'static str, Span)>,
    encode_error: Option<String>,
}

impl Request {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request header the operation declares (Keystone's `X-Subject-Token`).
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Sets a path parameter (`{name}` in the template); it is percent-encoded.
    pub fn param(mut self, name: &'static str, value: &str) -> Self {
        self.params.push((name, encode_path(value)));
        self
    }

    /// Adds a JSON body; its variant's span is checked against the version at call time.
    pub fn json<B: VersionedRequest>(mut self, body: &B) -> Self {
        self.note_span(body);
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some(bytes),
            Err(e) => self.encode_error = Some(format!("request body: {e}")),
        }
        self
    }

    /// Adds query parameters from a typed query; arrays become repeated keys.
    pub fn query<Q: VersionedRequest>(mut self, query: Option<&Q>) -> Self {
        let Some(query) = query else { return self };
        self.note_span(query);
        match crate::query::to_pairs(query) {
            Ok(pairs) => self.query = pairs,
            Err(e) => self.encode_error = Some(format!("query: {e}")),
        }
        self
    }

    /// Records a typed part's variant and span, checked against the version at call time.
    fn note_span<V: VersionedRequest>(&mut self, part: &V) {
        if let Some(span) = part.span() {
            self.spans.push((V::NAME, span));
        }
    }

    /// Expands a path template with this request's parameters.
    fn expand(&self, template: &str) -> Result<String, String> {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| format!("unclosed parameter in path {template}"))?;
            let name = &rest[open + 1..close];
            let value = self
                .params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("path parameter {name} is missing"))?;
            out.push_str(&rest[..open]);
            out.push_str(value);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `service.operation`, as errors name operations.
fn qualified_name(op: &OperationMeta) -> String {
    format!("{}.{}", op.service.name, op.name)
}

/// Percent-encodes one path parameter.
pub fn encode_path(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
        .replace("%7E", "~")
}

/// A client for one service endpoint at one requested microversion; generated clients wrap it.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    rest: Arc<RestClient>,
    endpoint: Arc<str>,
    service: &'static ServiceMeta,
    version: ApiVersion,
    /// The microversion headers for `version`, rendered once (not per call).
    version_headers: Arc<[(http::HeaderName, http::HeaderValue)]>,
}

/// The microversion headers `service` declares, rendered for `version`. A header the spec
/// names badly is left out with an error log (the server will then answer its default).
fn render_version_headers(
    service: &ServiceMeta,
    version: ApiVersion,
) -> Arc<[(http::HeaderName, http::HeaderValue)]> {
    let Some(text) = version.header_value() else {
        return Arc::from([]);
    };
    service
        .request_headers
        .iter()
        .filter_map(|h| {
            let name = http::HeaderName::from_bytes(h.name.as_bytes());
            let value = http::HeaderValue::from_str(&h.render(&text));
            match (name, value) {
                (Ok(name), Ok(value)) => Some((name, value)),
                _ => {
                    tracing::error!(header = h.name, "microversion header cannot be sent");
                    None
                }
            }
        })
        .collect()
}

impl ServiceClient {
    /// A client for `service` at `endpoint`, sending no microversion (the server's default).
    pub fn new(rest: Arc<RestClient>, endpoint: &str, service: &'static ServiceMeta) -> Self {
        Self {
            rest,
            endpoint: Arc::from(endpoint.trim_end_matches('/')),
            service,
            version: ApiVersion::Null,
            version_headers: Arc::from([]),
        }
    }

    /// The same client at another requested microversion.
    pub fn with_microversion(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self.version_headers = render_version_headers(self.service, version);
        self
    }

    /// The requested microversion.
    pub fn microversion(&self) -> ApiVersion {
        self.version
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The service's description.
    pub fn service(&self) -> &'static ServiceMeta {
        self.service
    }

    fn operation_name(&self, op: &OperationMeta) -> String {
        qualified_name(op)
    }

    fn request_error(&self, op: &OperationMeta, message: String) -> Error {
        Error::Request {
            operation: self.operation_name(op),
            message,
        }
    }

    /// The version whose facets a request uses: the requested one, the service default for
    /// null, and `None` (the newest span) for `latest`.
    fn effective_version(&self) -> Option<Microversion> {
        match self.version {
            ApiVersion::Null => Some(self.service.default_version),
            ApiVersion::At(v) => Some(v),
            ApiVersion::Latest => None,
        }
    }

    /// Checks the operation and the request's typed parts against the requested version, and
    /// returns the span (method, path) to use.
    fn request_span(
        &self,
        op: &'static OperationMeta,
        request: &Request,
    ) -> Result<&'static OpSpan, Error> {
        let effective = self.effective_version();
        let fits = |min: Microversion, max: Option<Microversion>| match effective {
            Some(v) => v.within(Some(min), max),
            None => max.is_none(),
        };
        let range = op
            .range()
            .ok_or_else(|| self.request_error(op, "the operation has no spans".to_owned()))?;
        if op.versioned && !fits(range.min, range.max) {
            return Err(self.request_error(
                op,
                format!("does not exist at microversion {}", self.version),
            ));
        }
        for (what, span) in &request.spans {
            if op.versioned && !fits(span.min, span.max) {
                return Err(self.request_error(
                    op,
                    format!(
                        "request variant {what}::{} is for {span}, not microversion {}",
                        span.variant_name(),
                        self.version
                    ),
                ));
            }
        }
        let span = match effective {
            Some(v) if op.versioned => op.span_for(v),
            _ => op.last_span(),
        };
        span.ok_or_else(|| {
            self.request_error(op, format!("no span covers microversion {}", self.version))
        })
    }

    /// Sends `request` for `op` and returns the checked response, its body parsed and (in
    /// strict mode) validated against the answered version's schema. One non-generic path for
    /// every operation; the generated method then types the body.
    pub async fn call(
        &self,
        op: &'static OperationMeta,
        request: Request,
    ) -> Result<RawResponse, Error> {
        if let Some(message) = request.encode_error.clone() {
            return Err(self.request_error(op, message));
        }
        let span = self.request_span(op, &request)?;
        let path = request
            .expand(span.path)
            .map_err(|m| self.request_error(op, m))?;
        let base = if op.root {
            crate::meta::strip_version_suffix(&self.endpoint)
        } else {
            &self.endpoint
        };
        let url = format!("{base}{path}");
        let mut attempt = 0;
        let mut reauthenticated = false;
        loop {
            let token = self.rest.token().await?;
            match self
                .call_once(op, span, &url, &request, token.as_ref())
                .await
            {
                Err(Error::Http {
                    kind: HttpErrorKind::Unauthorized,
                    ..
                }) if !reauthenticated && self.rest.auth.is_some() && token.is_some() => {
                    reauthenticated = true;
                    if let (Some(provider), Some(token)) = (&self.rest.auth, &token) {
                        provider.invalidate(token).await;
                    }
                    tracing::info!(operation = op.name, "401: retrying once with a new token");
                }
                Err(Error::Http {
                    kind: HttpErrorKind::RateLimitExceeded,
                    retry_after: Some(wait),
                    ..
                }) if attempt < RATE_LIMIT_RETRIES => {
                    attempt += 1;
                    tracing::info!(
                        operation = op.name,
                        ?wait,
                        attempt,
                        "rate limited; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                other => {
                    if let Ok(raw) = &other {
                        crate::coverage::record(op, raw.version);
                    }
                    return other;
                }
            }
        }
    }

    async fn call_once(
        &self,
        op: &'static OperationMeta,
        span: &'static OpSpan,
        url: &str,
        request: &Request,
        token: Option<&Secret>,
    ) -> Result<RawResponse, Error> {
        let method = reqwest::Method::from_bytes(span.method.as_bytes())
            .map_err(|e| self.request_error(op, format!("bad method {}: {e}", span.method)))?;
        let mut builder = self.rest.http.request(method, url).header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(token) = token {
            builder = builder.header(
                http::HeaderName::from_static("x-auth-token"),
                token.expose(),
            );
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if op.versioned {
            for (name, value) in self.version_headers.iter() {
                builder = builder.header(name.clone(), value.clone());
            }
        }
        if let Some(body) = &request.body {
            builder = builder
                .header("Content-Type", "application/json")
                .body(body.clone());
        }

        let started = Instant::now();
        let transport = |source| Error::Transport {
            operation: self.operation_name(op),
            source,
        };
        let traced = !self.rest.trace.is_empty() && self.rest.trace.matches(&qualified_name(op));
        let request_built = builder.build().map_err(transport)?;
        if traced {
            tracing::info!(
                target: "squall::trace",
                operation = %qualified_name(op),
                method = span.method,
                %url,
                headers = %redact_headers(request_built.headers()),
                body = %redact_body(request.body.as_deref().unwrap_or_default()),
                "request"
            );
        }
        let mut response = self
            .rest
            .http
            .execute(request_built)
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let raw = response.bytes().await.map_err(transport)?;
        if traced {
            tracing::info!(
                target: "squall::trace",
                operation = %qualified_name(op),
                status,
                headers = %redact_headers(&headers),
                body = %redact_body(&raw),
                "response"
            );
        }
        let answered_text = headers
            .get(self.service.response_header.name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| self.service.response_header.extract(v))
            .map(str::to_owned);
        tracing::debug!(
            service = op.service.name,
            operation = op.name,
            method = span.method,
            %url,
            status,
            requested = %self.version,
            answered = answered_text.as_deref().unwrap_or("-"),
            body_bytes = raw.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "call"
        );

        let answered = answered_text.as_deref().and_then(|t| t.parse().ok());
        // Built only when an error needs it: nothing is allocated on the success path.
        let (requested, body) = (self.version, raw.clone());
        let context = move |answered: Option<Microversion>| {
            Box::new(ErrorContext {
                operation: qualified_name(op),
                requested,
                answered,
                status: Some(status),
                body: body.clone(),
            })
        };
        if status >= 400 {
            return Err(self.http_error(status, &headers, &raw, context(answered)));
        }

        if !op.versioned {
            return self.finish(op, span, 0, status, answered, headers, raw, context);
        }
        let answered = match (answered_text, answered) {
            (_, Some(v)) => v,
            (Some(value), None) => {
                return Err(Error::Protocol {
                    fault: ProtocolFault::InvalidVersionHeader { value },
                    context: context(None),
                });
            }
            (None, None) => {
                return Err(Error::Protocol {
                    fault: ProtocolFault::MissingVersionHeader {
                        header: self.service.response_header.name,
                    },
                    context: context(None),
                });
            }
        };
        if let ApiVersion::At(requested) = self.version
            && requested != answered
        {
            self.fault(op, ProtocolFault::VersionMismatch, context(Some(answered)))?;
        }
        let Some(variant) = op.variant_for(answered) else {
            return Err(Error::Protocol {
                fault: ProtocolFault::NoSchemaForVersion,
                context: context(Some(answered)),
            });
        };
        let span = op.span_for(answered).unwrap_or(span);
        self.finish(
            op,
            span,
            variant,
            status,
            Some(answered),
            headers,
            raw,
            context,
        )
    }

    /// In strict modes a fault is an error; in lenient mode it is a warning.
    fn fault(
        &self,
        op: &OperationMeta,
        fault: ProtocolFault,
        context: Box<ErrorContext>,
    ) -> Result<(), Error> {
        if self.rest.validation == Validation::Lenient {
            tracing::warn!(operation = op.name, "lenient: {fault} ({context})");
            Ok(())
        } else {
            Err(Error::Protocol { fault, context })
        }
    }

    /// Checks the status and body for the selected variant, then parses and validates it.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        op: &'static OperationMeta,
        span: &'static OpSpan,
        variant: usize,
        status: u16,
        answered: Option<Microversion>,
        headers: http::HeaderMap,
        raw: Bytes,
        context: impl Fn(Option<Microversion>) -> Box<ErrorContext>,
    ) -> Result<RawResponse, Error> {
        if !span.statuses.contains(&status) {
            let allowed = span.statuses.to_vec();
            self.fault(
                op,
                ProtocolFault::InvalidHttpSuccessCode { allowed },
                context(answered),
            )?;
        }
        let has_body = !raw.iter().all(u8::is_ascii_whitespace);
        if has_body && (matches!(status, 204 | 205 | 304) || span.method == "HEAD") {
            self.fault(
                op,
                ProtocolFault::ResponseWithNonEmptyBody,
                context(answered),
            )?;
        }
        let schema = op.variants.get(variant).and_then(|v| v.body);
        if has_body && schema.is_none() {
            self.fault(
                op,
                ProtocolFault::InvalidHttpResponseBody,
                context(answered),
            )?;
        }
        if has_body && schema.is_some() {
            crate::response::capture(op, answered, &raw);
        }
        crate::response::parse_and_check(op, schema, &raw, self.rest.validation, || {
            context(answered)
        })?;
        Ok(RawResponse {
            op,
            status,
            version: answered,
            headers,
            raw,
            variant,
            mode: self.rest.validation,
            requested: self.version,
            received: true,
        })
    }

    fn http_error(
        &self,
        status: u16,
        headers: &http::HeaderMap,
        raw: &Bytes,
        context: Box<ErrorContext>,
    ) -> Error {
        let content_type = headers
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let known = content_type.is_empty()
            || content_type.starts_with("application/json")
            || content_type.starts_with("text/");
        if !raw.is_empty() && !known {
            return Error::Protocol {
                fault: ProtocolFault::UnexpectedContentType {
                    content_type: content_type.to_owned(),
                },
                context,
            };
        }
        let message = extract_message(raw);
        let retry_after = headers
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, headers.get("Date").and_then(|d| d.to_str().ok())));
        let rate_limited = retry_after.is_some() && !message.contains("exceed");
        Error::Http {
            kind: HttpErrorKind::from_status(status, rate_limited),
            message,
            retry_after,
            context,
        }
    }
}

/// Reads `Retry-After` as seconds or an HTTP date (relative to `Date`), never less than 1 s.
pub fn parse_retry_after(value: &str, date: Option<&str>) -> Option<Duration> {
    let seconds = match value.trim().parse::<u64>() {
        Ok(s) => s,
        Err(_) => {
            let at = httpdate::parse_http_date(value.trim()).ok()?;
            let now = date
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .unwrap_or_else(std::time::SystemTime::now);
            at.duration_since(now).map(|d| d.as_secs()).unwrap_or(0)
        }
    };
    Some(Duration::from_secs(seconds.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("5", None), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("0", None), Some(Duration::from_secs(1)));
        let later = parse_retry_after(
            "Mon, 23 Nov 2026 10:00:30 GMT",
            Some("Mon, 23 Nov 2026 10:00:00 GMT"),
        );
        assert_eq!(later, Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", None), None);
    }

    #[test]
    fn path_parameters_are_encoded() {
        assert_eq!(encode_path("my key/1"), "my%20key%2F1");
        assert_eq!(encode_path("a-b_c.d~e"), "a-b_c.d~e");
    }
}
