//! Version discovery and negotiation.
//!
//! [`Discovery`] reads a service's supported microversion range from what the server publishes,
//! once per endpoint:
//!
//! - the `...-API-Minimum-Version` / `...-API-Maximum-Version` headers Ironic (and Manila) put on
//!   every response, when present;
//! - otherwise the version document, in any of the shapes OpenStack services answer with:
//!   `{"versions": [...]}` (Nova, Placement, Cinder, Glance), `{"versions": {"values": [...]}}`
//!   (Keystone), `{"version": {...}}` (a versioned endpoint) and Ironic's root document with its
//!   `default_version`.
//!
//! [`negotiate`] then intersects three ranges: what the configuration asks for, what the server
//! supports and what the bundled specs describe. A configured `latest` resolves to the highest
//! version all three share, and an empty intersection is an error naming all three ranges.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::meta::{ServiceMeta, strip_version_suffix};
use crate::version::{ApiVersion, Microversion, VersionRange};

/// The microversion range a server announces. Both bounds are absent for a service (or an
/// endpoint) without microversions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersions {
    /// The lowest microversion the server accepts.
    pub min: Option<Microversion>,
    /// The highest microversion the server accepts.
    pub max: Option<Microversion>,
    /// Where the range was read: a URL, plus whether headers or a document said so.
    pub source: String,
}

impl ServerVersions {
    /// Whether the server announced any microversion support.
    pub fn has_microversions(&self) -> bool {
        self.max.is_some()
    }
}

impl fmt::Display for ServerVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<Microversion>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        write!(f, "{}–{}", show(self.min), show(self.max))
    }
}

/// Discovery could not read a version range.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    /// The version document could not be fetched.
    #[error("version discovery for {service} at {url} failed: {reason}")]
    Fetch {
        /// The service (`compute`).
        service: String,
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The document did not have a shape discovery understands, or carried a bad version.
    #[error("version document for {service} at {url} is not understood: {reason}; body: {body}")]
    Document {
        /// The service (`compute`).
        service: String,
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        reason: String,
        /// The body as received (truncated to 2 KiB).
        body: String,
    },
}

/// No version satisfies the configuration, the server and the specs at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no common {service} microversion: configured {configured}, server supports {server}, \
     bundled specs describe {specs}"
)]
pub struct NegotiationError {
    /// The service (`compute`).
    pub service: String,
    /// The configured range.
    pub configured: String,
    /// The server's range.
    pub server: String,
    /// The range the bundled specs describe.
    pub specs: String,
}

/// Intersects the configured range with the server's range and the specs' range.
///
/// Tempest's null semantics are kept: a null configured bound stays null (no header is sent,
/// tests that need a version are skipped), so `none`–`none` negotiates to `none`–`none`.
/// A configured `latest` resolves to the highest version the server and the specs share, so the
/// request carries a concrete version whose response the specs describe. A concrete configured
/// minimum below the server's minimum is raised to it; a maximum above the shared maximum is
/// lowered to it. When the resulting range is empty, or the server has no microversions while
/// the configuration asks for one, the error names all three ranges.
pub fn negotiate(
    service: &ServiceMeta,
    configured: VersionRange,
    server: &ServerVersions,
) -> Result<VersionRange, NegotiationError> {
    let specs_min = service.min_version;
    let specs_max = service.max_version;
    let fail = || NegotiationError {
        service: service.name.to_owned(),
        configured: configured.to_string(),
        server: server.to_string(),
        specs: format!("{specs_min}–{specs_max}"),
    };
    let wants_version = !configured.min().is_null() || !configured.max().is_null();
    let Some(server_max) = server.max else {
        return if wants_version {
            Err(fail())
        } else {
            Ok(configured)
        };
    };
    let server_min = server.min.unwrap_or(specs_min);
    let low = server_min.max(specs_min);
    let high = server_max.min(specs_max);
    if low > high {
        return Err(fail());
    }
    let clamp = |bound: ApiVersion| -> ApiVersion {
        match bound {
            ApiVersion::Null => ApiVersion::Null,
            ApiVersion::Latest => ApiVersion::At(high),
            ApiVersion::At(v) => ApiVersion::At(v.clamp(low, high)),
        }
    };
    // A concrete minimum above the shared range, or maximum below it, cannot be met; a bound
    // that overlaps the shared range is narrowed to it.
    let unmet_min = matches!(configured.min(), ApiVersion::At(v) if v > high);
    let unmet_max = matches!(configured.max(), ApiVersion::At(v) if v < low);
    if unmet_min || unmet_max {
        return Err(fail());
    }
    VersionRange::new(clamp(configured.min()), clamp(configured.max())).map_err(|_| fail())
}

/// Reads microversion ranges from servers, caching one answer per endpoint.
///
/// Cloning is cheap and clones share the cache. Concurrent callers for the same endpoint wait for
/// one request instead of sending their own.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    cache: Arc<Mutex<HashMap<String, Arc<OnceCell<ServerVersions>>>>>,
    fetches: Arc<std::sync::atomic::AtomicUsize>,
}

impl Discovery {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many documents were fetched so far (cache misses).
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The range `service` announces at `endpoint` (a catalog endpoint URL), fetched once.
    ///
    /// The endpoint itself is asked first: a versioned endpoint answers with its own version
    /// document, and Ironic answers with range headers. When that yields no range, the document
    /// the spec names (usually the unversioned root) is asked.
    pub async fn server_versions(
        &self,
        http: &reqwest::Client,
        service: &'static ServiceMeta,
        endpoint: &str,
    ) -> Result<ServerVersions, DiscoveryError> {
        let key = endpoint.trim_end_matches('/').to_owned();
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cache.entry(key.clone()).or_default())
        };
        cell.get_or_try_init(|| async {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            fetch_versions(http, service, &key).await
        })
        .await
        .cloned()
    }
}

async fn fetch_versions(
    http: &reqwest::Client,
    service: &'static ServiceMeta,
    endpoint: &str,
) -> Result<ServerVersions, DiscoveryError> {
    let first = format!("{endpoint}/");
    if let Some(found) = ask(http, service, &first, endpoint).await? {
        return Ok(found);
    }
    let doc = &service.version_document;
    let base = if doc.strip_version_suffix {
        strip_version_suffix(endpoint)
    } else {
        endpoint
    };
    let second = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        doc.path.trim_start_matches('/')
    );
    if second.trim_end_matches('/') != first.trim_end_matches('/')
        && let Some(found) = ask(http, service, &second, endpoint).await?
    {
        return Ok(found);
    }
    tracing::debug!(
        service = service.name,
        endpoint,
        "no microversion range announced"
    );
    Ok(ServerVersions {
        min: None,
        max: None,
        source: first,
    })
}

/// Asks one URL. `Ok(None)` means the answer carried no range (or was not a version document).
async fn ask(
    http: &reqwest::Client,
    service: &'static ServiceMeta,
    url: &str,
    endpoint: &str,
) -> Result<Option<ServerVersions>, DiscoveryError> {
    let fetch_error = |reason: String| DiscoveryError::Fetch {
        service: service.name.to_owned(),
        url: url.to_owned(),
        reason,
    };
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    tracing::debug!(service = service.name, url, %status, "version discovery");
    let doc_error = |reason: String| DiscoveryError::Document {
        service: service.name.to_owned(),
        url: url.to_owned(),
        reason,
        body: String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned(),
    };
    if let Some((min, max)) = range_from_headers(&headers).map_err(doc_error)? {
        return Ok(Some(ServerVersions {
            min,
            max,
            source: format!("{url} (headers)"),
        }));
    }
    // 300 Multiple Choices is how Keystone and others answer on the root.
    if !(status.is_success() || status.as_u16() == 300) {
        return Ok(None);
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return Ok(None);
    };
    let Some(entry) = pick_entry(&value, endpoint) else {
        return Ok(None);
    };
    let (min, max) = read_entry(entry).map_err(doc_error)?;
    if max.is_none() {
        return Ok(None);
    }
    Ok(Some(ServerVersions {
        min,
        max,
        source: url.to_owned(),
    }))
}

type Bounds = (Option<Microversion>, Option<Microversion>);

/// The range from `*-API-Minimum-Version` / `*-API-Maximum-Version` headers, if both are there.
fn range_from_headers(headers: &reqwest::header::HeaderMap) -> Result<Option<Bounds>, String> {
    let find = |suffix: &str| {
        headers
            .iter()
            .find(|(name, _)| name.as_str().ends_with(suffix))
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("")))
    };
    let (Some((min_name, min)), Some((max_name, max))) =
        (find("-api-minimum-version"), find("-api-maximum-version"))
    else {
        return Ok(None);
    };
    let parse = |name: &str, text: &str| {
        text.trim()
            .parse::<Microversion>()
            .map_err(|e| format!("header {name}: {e}"))
    };
    Ok(Some((
        Some(parse(&min_name, min)?),
        Some(parse(&max_name, max)?),
    )))
}

/// Finds the version entry that describes `endpoint` in any known document shape.
fn pick_entry<'v>(value: &'v Value, endpoint: &str) -> Option<&'v Value> {
    if let Some(entry) = value.get("version").filter(|v| v.is_object()) {
        return Some(entry);
    }
    let list = match value.get("versions") {
        Some(Value::Array(list)) => Some(list),
        Some(Value::Object(obj)) => obj.get("values").and_then(Value::as_array),
        _ => None,
    };
    if let Some(list) = list {
        let wanted = endpoint.trim_end_matches('/');
        let by_link = list.iter().find(|entry| {
            entry
                .get("links")
                .and_then(Value::as_array)
                .is_some_and(|links| {
                    links.iter().any(|link| {
                        link.get("rel").and_then(Value::as_str) == Some("self")
                            && link
                                .get("href")
                                .and_then(Value::as_str)
                                .is_some_and(|href| {
                                    !href.is_empty() && href.trim_end_matches('/') == wanted
                                })
                    })
                })
        });
        let current = || {
            list.iter().find(|entry| {
                entry
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| {
                        s.eq_ignore_ascii_case("current") || s.eq_ignore_ascii_case("stable")
                    })
                    && has_version(entry)
            })
        };
        let any = || list.iter().find(|entry| has_version(entry));
        return by_link.or_else(current).or_else(any);
    }
    value.get("default_version").filter(|v| v.is_object())
}

fn has_version(entry: &Value) -> bool {
    ["max_version", "version"].iter().any(|key| {
        entry
            .get(*key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    })
}

/// Reads `(min, max)` from one entry: max is `max_version`, else `version`; empty strings are
/// absent.
fn read_entry(entry: &Value) -> Result<Bounds, String> {
    let field = |key: &str| -> Result<Option<Microversion>, String> {
        match entry.get(key).and_then(Value::as_str) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse::<Microversion>()
                .map(Some)
                .map_err(|e| format!("field {key}: {e}")),
        }
    };
    let max = match field("max_version")? {
        Some(v) => Some(v),
        None => field("version")?,
    };
    Ok((field("min_version")?, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{HeaderFormat, VersionDocument};
    use serde_json::json;

    static COMPUTE: ServiceMeta = ServiceMeta {
        name: "compute",
        catalog_type: "compute",
        min_version: Microversion::new(2, 1),
        max_version: Microversion::new(2, 100),
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

    fn server(min: &str, max: &str) -> ServerVersions {
        ServerVersions {
            min: Some(min.parse().unwrap()),
            max: Some(max.parse().unwrap()),
            source: "test".into(),
        }
    }

    fn range(min: &str, max: &str) -> VersionRange {
        VersionRange::parse(min, max).unwrap()
    }

    #[test]
    fn shapes_are_all_understood() {
        let nova = json!({"versions": [
            {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
             "links": [{"rel": "self", "href": "http://h/v2/"}]},
            {"id": "v2.1", "status": "CURRENT", "version": "2.104", "min_version": "2.1",
             "links": [{"rel": "self", "href": "http://h/v2.1/"}]}]});
        let entry = pick_entry(&nova, "http://h/v2.1").unwrap();
        assert_eq!(
            read_entry(entry).unwrap(),
            (
                Some(Microversion::new(2, 1)),
                Some(Microversion::new(2, 104))
            )
        );
        // The v2.0 endpoint has no microversions: its own entry has an empty version.
        let legacy = pick_entry(&nova, "http://h/v2").unwrap();
        assert_eq!(read_entry(legacy).unwrap(), (None, None));

        let placement = json!({"versions": [{"id": "v1.0", "max_version": "1.39",
            "min_version": "1.0", "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]});
        let entry = pick_entry(&placement, "http://h").unwrap();
        assert_eq!(read_entry(entry).unwrap().1, Some(Microversion::new(1, 39)));

        let keystone = json!({"versions": {"values": [{"id": "v3.14", "status": "stable",
            "links": [{"rel": "self", "href": "http://h/v3/"}]}]}});
        let entry = pick_entry(&keystone, "http://h/v3").unwrap();
        assert_eq!(read_entry(entry).unwrap(), (None, None));

        let versioned = json!({"version": {"id": "v2.1", "version": "2.90", "min_version": "2.1"}});
        let entry = pick_entry(&versioned, "http://h/v2.1").unwrap();
        assert_eq!(read_entry(entry).unwrap().1, Some(Microversion::new(2, 90)));

        let ironic = json!({"name": "OpenStack Ironic API", "default_version":
            {"id": "v1", "min_version": "1.1", "version": "1.115", "status": "CURRENT"}});
        let entry = pick_entry(&ironic, "http://h").unwrap();
        assert_eq!(
            read_entry(entry).unwrap(),
            (
                Some(Microversion::new(1, 1)),
                Some(Microversion::new(1, 115))
            )
        );
    }

    #[test]
    fn bad_versions_in_documents_are_errors() {
        let doc = json!({"version": {"version": "2.01"}});
        let err = read_entry(pick_entry(&doc, "x").unwrap()).unwrap_err();
        assert!(err.contains("version") && err.contains("2.01"), "{err}");
    }

    #[test]
    fn headers_give_the_range() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-openstack-ironic-api-minimum-version",
            "1.1".parse().unwrap(),
        );
        headers.insert(
            "x-openstack-ironic-api-maximum-version",
            "1.115".parse().unwrap(),
        );
        assert_eq!(
            range_from_headers(&headers).unwrap(),
            Some((
                Some(Microversion::new(1, 1)),
                Some(Microversion::new(1, 115))
            ))
        );
        headers.insert(
            "x-openstack-ironic-api-maximum-version",
            "one".parse().unwrap(),
        );
        assert!(range_from_headers(&headers).is_err());
    }

    #[test]
    fn negotiation_intersects_three_ranges() {
        let s = server("2.1", "2.104");
        // latest resolves to the highest version both server and specs know.
        assert_eq!(
            negotiate(&COMPUTE, range("latest", "latest"), &s).unwrap(),
            range("2.100", "2.100")
        );
        assert_eq!(
            negotiate(&COMPUTE, range("2.2", "latest"), &s).unwrap(),
            range("2.2", "2.100")
        );
        // Null bounds stay null: Tempest's none/none means "send nothing".
        assert_eq!(
            negotiate(&COMPUTE, range("", ""), &s).unwrap(),
            range("", "")
        );
        assert_eq!(
            negotiate(&COMPUTE, range("", "2.300"), &s).unwrap(),
            range("", "2.100")
        );
        let older = server("2.1", "2.50");
        assert_eq!(
            negotiate(&COMPUTE, range("latest", "latest"), &older).unwrap(),
            range("2.50", "2.50")
        );
    }

    #[test]
    fn negotiation_failure_names_all_three_ranges() {
        let err =
            negotiate(&COMPUTE, range("2.200", "latest"), &server("2.1", "2.104")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("configured 2.200–latest"), "{text}");
        assert!(text.contains("server supports 2.1–2.104"), "{text}");
        assert!(text.contains("bundled specs describe 2.1–2.100"), "{text}");

        let no_microversions = ServerVersions {
            min: None,
            max: None,
            source: "test".into(),
        };
        assert!(negotiate(&COMPUTE, range("2.2", "2.2"), &no_microversions).is_err());
        assert!(negotiate(&COMPUTE, range("", ""), &no_microversions).is_ok());
        // A server whose whole range is below what the specs describe.
        assert!(negotiate(&COMPUTE, range("", "latest"), &server("1.0", "1.9")).is_err());
    }
}
