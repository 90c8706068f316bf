//! Static descriptions of services and operations, emitted by the generator from the specs.

use crate::schema::EmbeddedSchema;
use crate::version::{ApiVersion, Microversion};

/// How a microversion is written into (or read from) one HTTP header, e.g. name
/// `OpenStack-API-Version` with format `compute {version}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFormat {
    /// The header name.
    pub name: &'static str,
    /// The value, with `{version}` where the version goes.
    pub format: &'static str,
}

impl HeaderFormat {
    /// The header value that carries `version`.
    pub fn render(&self, version: &str) -> String {
        self.format.replace("{version}", version)
    }

    /// Extracts the version text from a header value written in this format.
    ///
    /// Values are compared case-insensitively around the version, as the service type in
    /// `OpenStack-API-Version` is case-insensitive.
    pub fn extract<'v>(&self, value: &'v str) -> Option<&'v str> {
        let (prefix, suffix) = self.format.split_once("{version}")?;
        let value = value.trim();
        let head = value.get(..prefix.len())?;
        let tail_start = value.len().checked_sub(suffix.len())?;
        let tail = value.get(tail_start..)?;
        if !head.eq_ignore_ascii_case(prefix) || !tail.eq_ignore_ascii_case(suffix) {
            return None;
        }
        value.get(prefix.len()..tail_start).map(str::trim)
    }
}

/// Where a service's version document lives, relative to its catalog endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionDocument {
    /// The path of the document, appended to the endpoint root.
    pub path: &'static str,
    /// Strip a trailing version segment (`/v2.1`, `/v1`) from the endpoint before appending.
    pub strip_version_suffix: bool,
}

/// One service as its spec describes it.
#[derive(Debug)]
pub struct ServiceMeta {
    /// The service's name in squall (`compute`).
    pub name: &'static str,
    /// The catalog type (`compute`, `placement`, ...).
    pub catalog_type: &'static str,
    /// The lowest microversion the specs describe.
    pub min_version: Microversion,
    /// The highest microversion the specs describe.
    pub max_version: Microversion,
    /// The version a server assumes when no header is sent.
    pub default_version: Microversion,
    /// The headers a request carries its version in (all are sent).
    pub request_headers: &'static [HeaderFormat],
    /// The response header that carries the answered version.
    pub response_header: HeaderFormat,
    /// Where the version document lives.
    pub version_document: VersionDocument,
}

/// A client the generator emitted for one group of a service's operations.
///
/// Test frameworks and factories use it to build any generated client from a
/// [`ServiceClient`](crate::client::ServiceClient) for the right service, without knowing the
/// concrete type.
pub trait GeneratedClient: Sized {
    /// The service whose operations the client calls.
    const SERVICE: &'static ServiceMeta;

    /// Wraps a service client (endpoint, token, microversion).
    fn from_service_client(inner: crate::client::ServiceClient) -> Self;
}

/// A request body or query could not be built for a version.
#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    /// No range of the request type covers the version.
    #[error("{what} has no variant for microversion {version}")]
    NoVariant {
        /// The request type.
        what: &'static str,
        /// The version asked for.
        version: String,
    },
    /// The operation takes no body (or query) at that version.
    #[error("{what} is not accepted at microversion {version} (range {span} takes none)")]
    NotAccepted {
        /// The request type.
        what: &'static str,
        /// The version asked for.
        version: String,
        /// The range without a body.
        span: &'static str,
    },
    /// The JSON does not match the variant's type.
    #[error("{what}: the JSON does not match the variant's type: {source}")]
    Json {
        /// The request type.
        what: &'static str,
        /// The deserialization error.
        source: serde_json::Error,
    },
}

/// The index of the span that covers `version`: the last for `latest`, the one covering
/// `default` for none.
pub fn pick_variant(
    spans: &[(Microversion, Option<Microversion>)],
    version: ApiVersion,
    default: Microversion,
) -> Option<usize> {
    let concrete = match version {
        ApiVersion::Latest => return spans.len().checked_sub(1),
        ApiVersion::Null => default,
        ApiVersion::At(v) => v,
    };
    spans
        .iter()
        .position(|(min, max)| concrete.within(Some(*min), *max))
}

/// The request-side facets of an operation over one version span.
#[derive(Debug)]
pub struct OpSpan {
    /// First version of the span.
    pub min: Microversion,
    /// Last version of the span; `None` is open.
    pub max: Option<Microversion>,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template (`/os-keypairs/{keypair_name}`).
    pub path: &'static str,
    /// Allowed success statuses.
    pub statuses: &'static [u16],
}

/// One response variant: the span of versions it covers and the schema of its body.
#[derive(Debug)]
pub struct VariantMeta {
    /// The variant's name in the response enum (`V2_2`).
    pub name: &'static str,
    /// First version of the span.
    pub min: Microversion,
    /// Last version of the span; `None` is open.
    pub max: Option<Microversion>,
    /// The body schema; `None` when this span has no body.
    pub body: Option<&'static EmbeddedSchema>,
}

/// One operation of a service, with the facets the runtime checks.
#[derive(Debug)]
pub struct OperationMeta {
    /// The operation's name (`create_keypair`).
    pub name: &'static str,
    /// The service it belongs to.
    pub service: &'static ServiceMeta,
    /// First version at which the operation exists.
    pub min: Microversion,
    /// Last version at which it exists; `None` is open.
    pub max: Option<Microversion>,
    /// The path is relative to the service root, not the catalog endpoint.
    pub root: bool,
    /// Whether microversion headers are sent and checked.
    pub versioned: bool,
    /// Method, path and statuses per span, in version order.
    pub spans: &'static [OpSpan],
    /// Response variants, in version order; index `i` is variant `i` of the response enum.
    pub variants: &'static [VariantMeta],
}

impl OperationMeta {
    /// The index of the response variant for an answered version. Exactly one span matches, or none.
    pub fn variant_for(&self, version: Microversion) -> Option<usize> {
        self.variants
            .iter()
            .position(|v| version.within(Some(v.min), v.max))
    }

    /// The span (method, path, statuses) that covers `version`.
    pub fn span_for(&self, version: Microversion) -> Option<&'static OpSpan> {
        self.spans
            .iter()
            .find(|s| version.within(Some(s.min), s.max))
    }

    /// The newest span (what `latest` gets).
    pub fn last_span(&self) -> Option<&'static OpSpan> {
        self.spans.last()
    }
}

/// Strips a trailing version segment (`/v2.1`, `/v1`, `/v3/`) from an endpoint URL.
pub fn strip_version_suffix(endpoint: &str) -> &str {
    let trimmed = endpoint.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((head, last))
            if last.len() > 1
                && last.starts_with('v')
                && last[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
                && head.contains("://")
                && head.len() > head.find("://").map_or(0, |i| i + 3) =>
        {
            head
        }
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_suffixes_are_stripped() {
        assert_eq!(strip_version_suffix("http://h:1/v2.1"), "http://h:1");
        assert_eq!(
            strip_version_suffix("http://h:1/compute/v2.1/"),
            "http://h:1/compute"
        );
        assert_eq!(strip_version_suffix("http://h:1"), "http://h:1");
        assert_eq!(
            strip_version_suffix("http://h:1/placement"),
            "http://h:1/placement"
        );
    }

    #[test]
    fn header_format_round_trip() {
        let h = HeaderFormat {
            name: "OpenStack-API-Version",
            format: "compute {version}",
        };
        assert_eq!(h.render("2.2"), "compute 2.2");
        assert_eq!(h.extract("compute 2.2"), Some("2.2"));
        assert_eq!(h.extract("COMPUTE 2.79"), Some("2.79"));
        assert_eq!(h.extract("placement 1.3"), None);
        let bare = HeaderFormat {
            name: "X-OpenStack-Nova-API-Version",
            format: "{version}",
        };
        assert_eq!(bare.extract(" 2.1 "), Some("2.1"));
    }
}

#[cfg(test)]
mod pick_tests {
    use super::*;

    #[test]
    fn variant_by_version_latest_and_default() {
        let spans = [
            (Microversion::new(2, 1), Some(Microversion::new(2, 1))),
            (Microversion::new(2, 2), Some(Microversion::new(2, 9))),
            (Microversion::new(2, 10), None),
        ];
        let default = Microversion::new(2, 1);
        assert_eq!(pick_variant(&spans, ApiVersion::at(2, 5), default), Some(1));
        assert_eq!(
            pick_variant(&spans, ApiVersion::at(2, 10), default),
            Some(2)
        );
        assert_eq!(pick_variant(&spans, ApiVersion::Latest, default), Some(2));
        assert_eq!(pick_variant(&spans, ApiVersion::Null, default), Some(0));
        assert_eq!(pick_variant(&spans, ApiVersion::at(1, 0), default), None);
    }
}
