//! The REST client and the per-service client that generated clients wrap.
//!
//! A call goes: headers (token, microversion as the spec declares it) -> send -> error mapping
//! (Tempest's table) -> answered-version check -> variant selection by the answered version ->
//! success-status check for that version -> body checks -> validated decode.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::error::{Error, ErrorContext, HttpErrorKind, ProtocolFault, extract_message};
use crate::meta::{OpSpan, OperationMeta, ServiceMeta, Span, VersionedRequest};
use crate::provider::AuthProvider;
use crate::redact::{TraceFilter, redact_body, redact_headers};
use crate::response::{RawResponse, Validation};
use crate::secret::Secret;
use crate::transport::{
    RetryPolicy, TransportFault, TransportPhase, TransportSettings, parse_retry_after,
};
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
    settings: TransportSettings,
    retry: RetryPolicy,
}

impl RestClient {
    /// A client with the default transport settings (see [`crate::transport`]: 10 s connect,
    /// 60 s read, 120 s whole-call timeouts, 64 MiB body limit, no retries) and no token.
    pub fn new() -> Result<Self, reqwest::Error> {
        Self::with_settings(TransportSettings::default())
    }

    /// A client whose HTTP stack has these timeouts, body limit and redirect limit.
    pub fn with_settings(settings: TransportSettings) -> Result<Self, reqwest::Error> {
        let http = settings.http_builder().build()?;
        Ok(Self::with_http(http).with_transport_settings(settings))
    }

    /// A client over an existing reqwest client (its own timeouts and redirect policy apply;
    /// the body limit is the default one unless set with
    /// [`with_transport_settings`](Self::with_transport_settings)).
    pub fn with_http(http: reqwest::Client) -> Self {
        Self {
            http,
            token: None,
            auth: None,
            validation: Validation::default(),
            trace: TraceFilter::default(),
            settings: TransportSettings::default(),
            retry: RetryPolicy::none(),
        }
    }

    /// Records the settings the HTTP stack was built with; the body limit is enforced from
    /// them, and faults name the limits.
    pub fn with_transport_settings(mut self, settings: TransportSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Retries failed calls under `policy` (see [`RetryPolicy`]; none by default).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        tracing::debug!(?policy, "retry policy");
        self.retry = policy;
        self
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The transport settings (timeouts, body limit).
    pub fn transport_settings(&self) -> TransportSettings {
        self.settings
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
    /// `base` followed by `template` with the path parameters filled in (the call's path), in
    /// one allocation.
    fn expand(&self, base: &str, template: &str) -> Result<String, String> {
        let mut out = String::with_capacity(base.len() + template.len() + 32);
        out.push_str(base);
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
    /// The header the answered version is read from, parsed once (`None` if the spec names
    /// it badly: then no response carries it).
    answer_header: Option<http::HeaderName>,
    /// The endpoint parsed once (or why it does not parse): a call only sets the path of a
    /// copy, so the scheme and host are not parsed again per call.
    urls: Result<Arc<EndpointUrls>, Arc<str>>,
}

/// An endpoint as URLs: as given, and without its version suffix (for the version
/// documents at the service root).
#[derive(Debug)]
struct EndpointUrls {
    versioned: reqwest::Url,
    root: reqwest::Url,
}

impl EndpointUrls {
    fn parse(endpoint: &str) -> Result<Self, String> {
        let parse = |text: &str| match reqwest::Url::parse(text) {
            Ok(url) if url.has_host() && !url.cannot_be_a_base() => Ok(url),
            Ok(_) => Err(format!("the endpoint {text} is not a URL: it has no host")),
            Err(e) => Err(format!("the endpoint {text} is not a URL: {e}")),
        };
        Ok(Self {
            versioned: parse(endpoint)?,
            root: parse(crate::meta::strip_version_suffix(endpoint))?,
        })
    }
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
        let endpoint = endpoint.trim_end_matches('/');
        Self {
            rest,
            endpoint: Arc::from(endpoint),
            urls: EndpointUrls::parse(endpoint)
                .map(Arc::new)
                .map_err(Arc::from),
            service,
            version: ApiVersion::Null,
            version_headers: Arc::from([]),
            answer_header: http::HeaderName::from_bytes(service.response_header.name.as_bytes())
                .ok(),
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
        let url = self.url(op, span.path, &request)?;
        let mut attempt = 0;
        let mut retries = 0;
        let mut reauthenticated = false;
        loop {
            let token = self.rest.token().await?;
            let result = self
                .call_once(op, span, &url, &request, token.as_ref())
                .await;
            if let Err(error) = &result
                && let Some(wait) = self.rest.retry.decide(span.method, error, retries)
            {
                retries += 1;
                tracing::info!(
                    operation = %qualified_name(op),
                    method = span.method,
                    attempt = retries,
                    max_retries = self.rest.retry.max_retries,
                    ?wait,
                    reason = %error,
                    "retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            match result {
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

    /// The call's URL: a copy of the endpoint (or of its root, for an operation there) with
    /// the path template, its parameters filled in, after the endpoint's own path.
    fn url(
        &self,
        op: &'static OperationMeta,
        template: &str,
        request: &Request,
    ) -> Result<reqwest::Url, Error> {
        let urls = self
            .urls
            .as_ref()
            .map_err(|why| self.request_error(op, why.to_string()))?;
        let base = if op.root { &urls.root } else { &urls.versioned };
        let path = request
            .expand(base.path().trim_end_matches('/'), template)
            .map_err(|m| self.request_error(op, m))?;
        let mut url = base.clone();
        url.set_path(&path);
        Ok(url)
    }

    async fn call_once(
        &self,
        op: &'static OperationMeta,
        span: &'static OpSpan,
        url: &reqwest::Url,
        request: &Request,
        token: Option<&Secret>,
    ) -> Result<RawResponse, Error> {
        let method = reqwest::Method::from_bytes(span.method.as_bytes())
            .map_err(|e| self.request_error(op, format!("bad method {}: {e}", span.method)))?;
        let mut builder = self.rest.http.request(method, url.clone()).header(
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
        let settings = &self.rest.settings;
        let transport = |fault: TransportFault,
                         source: Option<reqwest::Error>,
                         status: Option<u16>,
                         body: Bytes| Error::Transport {
            fault,
            context: Box::new(ErrorContext {
                operation: qualified_name(op),
                requested: self.version,
                answered: None,
                status,
                body,
            }),
            source,
        };
        let failed = |e: reqwest::Error, phase| {
            let fault = crate::transport::classify(&e, phase, settings, started.elapsed());
            transport(fault, Some(e), None, Bytes::new())
        };
        let traced = !self.rest.trace.is_empty() && self.rest.trace.matches(&qualified_name(op));
        let request_built = builder
            .build()
            .map_err(|e| failed(e, TransportPhase::Connect))?;
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
            .map_err(|e| failed(e, TransportPhase::Response))?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let raw = crate::transport::read_body(response, settings, started)
            .await
            .map_err(|(fault, source, received)| {
                transport(fault, source, Some(status), received)
            })?;
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
        let answered_text = self
            .answer_header
            .as_ref()
            .and_then(|name| headers.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| self.service.response_header.extract(v));
        tracing::debug!(
            service = op.service.name,
            operation = op.name,
            method = span.method,
            %url,
            status,
            requested = %self.version,
            answered = answered_text.unwrap_or("-"),
            body_bytes = raw.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "call"
        );

        let answered = answered_text.and_then(|t| t.parse().ok());
        // The header's text is kept only when it does not parse (for the error).
        let unparsed = answered_text
            .filter(|_| answered.is_none())
            .map(str::to_owned);
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
        let answered = match (unparsed, answered) {
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
        if has_body {
            check_json_body(&headers, &raw).map_err(|fault| Error::Protocol {
                fault,
                context: context(answered),
            })?;
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
        let retry_after_header = headers.get("Retry-After").map(|v| v.to_str().unwrap_or(""));
        let retry_after = retry_after_header.and_then(|v| {
            let date = headers.get("Date").and_then(|d| d.to_str().ok());
            parse_retry_after(v, date)
                .inspect_err(|e| tracing::warn!(error = %e, "Retry-After not usable"))
                .ok()
        });
        // Tempest: a 413 is rate-limited when Retry-After is present (parsable or not) and
        // the message lacks "exceed".
        let rate_limited = retry_after_header.is_some() && !message.contains("exceed");
        Error::Http {
            kind: HttpErrorKind::from_status(status, rate_limited),
            message,
            retry_after,
            context,
        }
    }
}

/// A success body must be JSON: a JSON content type (or none given) and UTF-8.
fn check_json_body(headers: &http::HeaderMap, raw: &[u8]) -> Result<(), ProtocolFault> {
    if let Some(value) = headers.get(http::header::CONTENT_TYPE) {
        let text = value.to_str().unwrap_or("");
        let essence = text.split(';').next().unwrap_or("").trim().as_bytes();
        let json = essence.eq_ignore_ascii_case(b"application/json")
            || essence
                .len()
                .checked_sub(5)
                .is_some_and(|at| essence[at..].eq_ignore_ascii_case(b"+json"));
        if !json {
            return Err(ProtocolFault::UnexpectedContentType {
                content_type: text.to_owned(),
            });
        }
    }
    std::str::from_utf8(raw)
        .map(|_| ())
        .map_err(|e| ProtocolFault::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{HeaderFormat, VariantMeta, VersionDocument};

    static SERVICE: ServiceMeta = ServiceMeta {
        name: "compute",
        catalog_type: "compute",
        min_version: Microversion::new(2, 1),
        max_version: Microversion::new(2, 90),
        default_version: Microversion::new(2, 1),
        request_headers: &[],
        response_header: HeaderFormat {
            name: "OpenStack-API-Version",
            format: "compute {version}",
        },
        version_document: VersionDocument {
            path: "/",
            strip_version_suffix: true,
        },
    };
    static SPANS: [OpSpan; 1] = [OpSpan::new(
        Span::open(2, 1),
        "GET",
        "/servers/{id}/tags/{tag}",
        &[200],
    )];
    static VARIANTS: [VariantMeta; 0] = [];
    static SHOW: OperationMeta = OperationMeta::new("show", &SERVICE, &SPANS, &VARIANTS);
    static ROOT: OperationMeta =
        OperationMeta::new("versions", &SERVICE, &SPANS, &VARIANTS).at_root();

    #[test]
    fn call_urls_keep_the_endpoint_path_and_encode_parameters() {
        let rest = Arc::new(RestClient::with_http(reqwest::Client::new()));
        let request = Request::new().param("id", "a b/c").param("tag", "x?y#z");
        for (endpoint, show, root) in [
            (
                "http://127.0.0.1:8774/compute/v2.1/",
                "http://127.0.0.1:8774/compute/v2.1/servers/a%20b%2Fc/tags/x%3Fy%23z",
                "http://127.0.0.1:8774/compute/servers/a%20b%2Fc/tags/x%3Fy%23z",
            ),
            (
                "https://nova.example:8774",
                "https://nova.example:8774/servers/a%20b%2Fc/tags/x%3Fy%23z",
                "https://nova.example:8774/servers/a%20b%2Fc/tags/x%3Fy%23z",
            ),
        ] {
            let client = ServiceClient::new(rest.clone(), endpoint, &SERVICE);
            let url = |op| client.url(op, SPANS[0].path, &request).unwrap().to_string();
            assert_eq!((url(&SHOW), url(&ROOT)), (show.to_owned(), root.to_owned()));
        }
        // No scheme, or (read as a scheme) no host: refused before anything is sent.
        for endpoint in ["nova.example/v2.1", "nova:8774/v2.1"] {
            let client = ServiceClient::new(rest.clone(), endpoint, &SERVICE);
            let Err(Error::Request { operation, message }) =
                client.url(&SHOW, "/servers", &request)
            else {
                panic!("{endpoint} is refused");
            };
            assert_eq!(operation, "compute.show");
            assert!(
                message.contains(&format!("{endpoint} is not a URL")),
                "{message}"
            );
        }
    }

    #[test]
    fn path_parameters_are_encoded() {
        assert_eq!(encode_path("my key/1"), "my%20key%2F1");
        assert_eq!(encode_path("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn json_bodies_are_told_by_their_media_type() {
        let with = |content_type: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(content_type).unwrap(),
            );
            check_json_body(&headers, b"{}")
        };
        for json in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            " application/json ",
            "application/problem+json",
            "application/vnd.openstack.IMAGES-v2.1+JSON",
        ] {
            assert!(with(json).is_ok(), "{json}");
        }
        for other in ["text/html", "json", "application/jsonx", "+jso", ""] {
            assert!(
                matches!(
                    with(other),
                    Err(ProtocolFault::UnexpectedContentType { .. })
                ),
                "{other}"
            );
        }
        assert!(check_json_body(&http::HeaderMap::new(), b"{}").is_ok());
        assert!(matches!(
            check_json_body(&http::HeaderMap::new(), b"\"\xff\""),
            Err(ProtocolFault::InvalidUtf8 { valid_up_to: 1 })
        ));
    }
}
