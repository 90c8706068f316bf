//! Static descriptions of services and operations, emitted by the generator from the specs.

use serde_json::Value;

use crate::decode::{Decoder, Node};
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
        // Split at a byte, not a substring: this runs on every response.
        let (prefix, rest) = self.format.split_once('{')?;
        let suffix = rest.strip_prefix("version}")?;
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

/// A span of microversions: `min` to `max` inclusive, `max: None` meaning open (latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First version of the span.
    pub min: Microversion,
    /// Last version of the span; `None` is open.
    pub max: Option<Microversion>,
}

impl Span {
    /// The span `min_major.min_minor`–`max_major.max_minor`.
    pub const fn closed(min_major: u32, min_minor: u32, max_major: u32, max_minor: u32) -> Self {
        Self {
            min: Microversion::new(min_major, min_minor),
            max: Some(Microversion::new(max_major, max_minor)),
        }
    }

    /// The span from `major.minor` to the newest version.
    pub const fn open(major: u32, minor: u32) -> Self {
        Self {
            min: Microversion::new(major, minor),
            max: None,
        }
    }

    /// Whether `version` lies in the span.
    pub fn contains(&self, version: Microversion) -> bool {
        version.within(Some(self.min), self.max)
    }

    /// The variant name of a span's first version (`V2_10`).
    pub fn variant_name(&self) -> String {
        format!("V{}_{}", self.min.major, self.min.minor)
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "{}", self.min),
            Some(max) => write!(f, "{}–{max}", self.min),
            None => write!(f, "{}–latest", self.min),
        }
    }
}

/// The index of the span that covers `version`: the last for `latest`, the one covering
/// `default` for none.
pub fn pick_variant(spans: &[Span], version: ApiVersion, default: Microversion) -> Option<usize> {
    let concrete = match version {
        ApiVersion::Latest => return spans.len().checked_sub(1),
        ApiVersion::Null => default,
        ApiVersion::At(v) => v,
    };
    spans.iter().position(|s| s.contains(concrete))
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
    /// The JSON does not match the variant's type.
    #[error(
        "{what} at {version}: the JSON does not match the variant's type at {pointer}: {message}"
    )]
    Json {
        /// The request type.
        what: &'static str,
        /// The variant's span.
        version: String,
        /// Where in the JSON.
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

/// A request body or query whose variants each belong to one span of versions; implemented
/// by the generated request enums over a table of spans.
pub trait VersionedRequest: Sized + serde::Serialize {
    /// The type's name, for errors.
    const NAME: &'static str;
    /// The service (for its default version).
    const SERVICE: &'static ServiceMeta;
    /// The span of each variant, in variant order.
    const SPANS: &'static [Span];

    /// The index of this value's variant.
    fn index(&self) -> usize;

    /// Decodes variant `index` from JSON.
    fn decode_variant<'v>(index: usize, d: &mut Decoder<'v>, value: &'v Node) -> Option<Self>;

    /// The span of versions this value's variant is valid for.
    fn span(&self) -> Option<Span> {
        Self::SPANS.get(self.index()).copied()
    }

    /// Builds the variant for `version` from JSON: the span that covers it, the newest for
    /// `latest`, the service's default version for none.
    fn from_json_at(version: ApiVersion, value: Value) -> Result<Self, VariantError> {
        let index =
            pick_variant(Self::SPANS, version, Self::SERVICE.default_version).ok_or_else(|| {
                VariantError::NoVariant {
                    what: Self::NAME,
                    version: version.to_string(),
                }
            })?;
        let json_error = |pointer: String, message: String| VariantError::Json {
            what: Self::NAME,
            version: Self::SPANS
                .get(index)
                .map(Span::to_string)
                .unwrap_or_default(),
            pointer,
            message,
        };
        let node =
            Node::from_value(&value).map_err(|e| json_error(String::new(), e.to_string()))?;
        let mut d = Decoder::new();
        Self::decode_variant(index, &mut d, &node).ok_or_else(|| {
            let failure = d.into_failure();
            json_error(failure.pointer, failure.message)
        })
    }
}

/// A response type with one variant per span of answered versions; implemented by the
/// generated response enums. The index comes from the operation's table.
pub trait VersionedResponse: Sized {
    /// Decodes variant `index` from the body.
    fn decode_variant<'v>(index: usize, d: &mut Decoder<'v>, value: &'v Node) -> Option<Self>;
}

/// The request-side facets of an operation over one span of versions.
#[derive(Debug)]
pub struct OpSpan {
    /// The versions covered.
    pub span: Span,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template (`/os-keypairs/{keypair_name}`).
    pub path: &'static str,
    /// Allowed success statuses.
    pub statuses: &'static [u16],
}

impl OpSpan {
    /// One row of an operation's table.
    pub const fn new(
        span: Span,
        method: &'static str,
        path: &'static str,
        statuses: &'static [u16],
    ) -> Self {
        Self {
            span,
            method,
            path,
            statuses,
        }
    }
}

/// One response variant: the span of versions it covers, the index of its type in the
/// response enum, and the schema of its body.
#[derive(Debug)]
pub struct VariantMeta {
    /// The versions covered.
    pub span: Span,
    /// The variant of the response type (0 for an operation with one response type).
    pub index: usize,
    /// The body schema; `None` when this span has no body.
    pub body: Option<&'static EmbeddedSchema>,
}

impl VariantMeta {
    /// One row of an operation's response table.
    pub const fn new(span: Span, index: usize, body: Option<&'static EmbeddedSchema>) -> Self {
        Self { span, index, body }
    }
}

/// One operation of a service, described by tables the runtime works over.
#[derive(Debug)]
pub struct OperationMeta {
    /// The operation's name (`create_keypair`).
    pub name: &'static str,
    /// The service it belongs to.
    pub service: &'static ServiceMeta,
    /// The path is relative to the service root, not the catalog endpoint.
    pub root: bool,
    /// Whether microversion headers are sent and checked.
    pub versioned: bool,
    /// Method, path and statuses per span, in version order.
    pub spans: &'static [OpSpan],
    /// Response variants, in version order.
    pub variants: &'static [VariantMeta],
}

impl OperationMeta {
    /// An operation of `service` described by its tables, versioned and relative to the
    /// catalog endpoint.
    pub const fn new(
        name: &'static str,
        service: &'static ServiceMeta,
        spans: &'static [OpSpan],
        variants: &'static [VariantMeta],
    ) -> Self {
        Self {
            name,
            service,
            root: false,
            versioned: true,
            spans,
            variants,
        }
    }

    /// The same operation without microversion headers (version documents).
    pub const fn unversioned(mut self) -> Self {
        self.versioned = false;
        self
    }

    /// The same operation with its path relative to the service root.
    pub const fn at_root(mut self) -> Self {
        self.root = true;
        self
    }

    /// The span of versions at which the operation exists.
    pub fn range(&self) -> Option<Span> {
        let first = self.spans.first()?;
        let last = self.spans.last()?;
        Some(Span {
            min: first.span.min,
            max: last.span.max,
        })
    }

    /// The position of the response variant for an answered version in [`variants`](Self::variants).
    pub fn variant_for(&self, version: Microversion) -> Option<usize> {
        self.variants.iter().position(|v| v.span.contains(version))
    }

    /// The span (method, path, statuses) that covers `version`.
    pub fn span_for(&self, version: Microversion) -> Option<&'static OpSpan> {
        self.spans.iter().find(|s| s.span.contains(version))
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
            Span::closed(2, 1, 2, 1),
            Span::closed(2, 2, 2, 9),
            Span::open(2, 10),
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
        assert_eq!(spans[1].to_string(), "2.2–2.9");
        assert_eq!(spans[2].variant_name(), "V2_10");
    }
}
