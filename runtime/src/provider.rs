//! The auth provider: one token and catalog per set of credentials, shared by every client.
//!
//! - The token and the catalog are fetched on first use and cached.
//! - A token is renewed [`DEFAULT_RENEWAL_MARGIN`] (60 s, as Tempest) before it expires.
//! - After a 401 the client calls [`AuthProvider::invalidate`] with the token it used, and
//!   retries once with a fresh one; a second 401 is the caller's error.
//! - Renewal is single-flight: concurrent tasks wait for one token request.
//! - [`AuthProvider::base_url`] finds a service's URL by type, name, interface and region, with
//!   an optional override, and applies Tempest's `api_version` and `skip_path` filters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::auth::{AuthError, Secret, Session, parse_keystone_time, request_token};
use crate::credentials::Credentials;

/// How long before its expiry a token is renewed (Tempest's `token_expiry_threshold`).
pub const DEFAULT_RENEWAL_MARGIN: Duration = Duration::from_secs(60);

/// Which endpoint of the catalog a client talks to, and how its path is adjusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFilter {
    /// The catalog type (`compute`).
    pub service_type: String,
    /// The catalog name (`nova`), when several services share a type.
    pub service_name: Option<String>,
    /// `public`, `internal` or `admin` (`publicURL` is accepted).
    pub interface: String,
    /// The region; `None` takes the first endpoint with the interface.
    pub region: Option<String>,
    /// A URL to use instead of the catalog.
    pub endpoint_override: Option<String>,
    /// Replace the version segment of the path (`v2.1` -> `v2`), as Tempest's `api_version`.
    pub api_version: Option<String>,
    /// Drop the path altogether (Tempest's `skip_path`), e.g. for version documents.
    pub skip_path: bool,
}

impl EndpointFilter {
    /// The public endpoint of a service type in any region.
    pub fn new(service_type: &str) -> Self {
        Self {
            service_type: service_type.to_owned(),
            service_name: None,
            interface: "public".to_owned(),
            region: None,
            endpoint_override: None,
            api_version: None,
            skip_path: false,
        }
    }
}

/// Replaces the first version segment (`/v2.1`, `/v3`) of a URL's path with `/{version}`, or
/// appends it when there is none (Tempest's `replace_version`).
pub fn replace_version(url: &str, version: &str) -> String {
    let (origin, path, rest) = split_url(url);
    let segments: Vec<&str> = path.split('/').collect();
    let is_version = |s: &str| {
        let Some(v) = s.strip_prefix('v') else {
            return false;
        };
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        !major.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
    };
    let new_path = match segments.iter().position(|s| is_version(s)) {
        Some(i) => {
            let mut out: Vec<&str> = segments.clone();
            out[i] = version;
            out.join("/")
        }
        None => format!("{}/{version}", path.trim_end_matches('/')),
    };
    format!("{origin}{new_path}{rest}")
}

/// Drops a URL's path, keeping `/` (Tempest's `skip_path`).
pub fn skip_path(url: &str) -> String {
    let (origin, path, rest) = split_url(url);
    if path.is_empty() {
        url.to_owned()
    } else {
        format!("{origin}/{rest}")
    }
}

/// Splits `scheme://host:port/path?query` into origin, path and the query/fragment tail.
fn split_url(url: &str) -> (&str, &str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    let tail_start = url[path_start..]
        .find(['?', '#'])
        .map_or(url.len(), |i| path_start + i);
    (
        &url[..path_start],
        &url[path_start..tail_start],
        &url[tail_start..],
    )
}

/// Normalises an identity URI to its v3 root: `http://h:5000` and `http://h:5000/v3/` both
/// give `http://h:5000/v3`. A v2.0 URI is an error.
pub fn identity_v3_url(identity_uri: &str) -> Result<String, AuthError> {
    let trimmed = identity_uri.trim().trim_end_matches('/');
    if trimmed.ends_with("/v3") {
        return Ok(trimmed.to_owned());
    }
    if trimmed.ends_with("/v2.0") {
        return Err(AuthError::Malformed {
            url: identity_uri.to_owned(),
            reason: "Keystone v2.0 is gone; give the v3 URI".to_owned(),
        });
    }
    if !trimmed.starts_with("http://") && !trimmed.starts_with("https://") {
        return Err(AuthError::Malformed {
            url: identity_uri.to_owned(),
            reason: "the identity URI must start with http:// or https://".to_owned(),
        });
    }
    Ok(format!("{trimmed}/v3"))
}

#[derive(Debug)]
struct Cached {
    session: Arc<Session>,
    expires: Option<SystemTime>,
}

/// A Keystone v3 auth provider shared by every client of one set of credentials; clone the
/// `Arc` freely across threads and tasks.
#[derive(Debug)]
pub struct AuthProvider {
    http: reqwest::Client,
    auth_url: String,
    credentials: Credentials,
    margin: Duration,
    state: tokio::sync::Mutex<Option<Cached>>,
    requests: AtomicU64,
}

impl AuthProvider {
    /// A provider for `credentials` at `identity_uri` (normalised to its `/v3` root), sending
    /// its token requests through `http`.
    pub fn new(
        http: reqwest::Client,
        identity_uri: &str,
        credentials: Credentials,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            http,
            auth_url: identity_v3_url(identity_uri)?,
            credentials,
            margin: DEFAULT_RENEWAL_MARGIN,
            state: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    /// Renews tokens this long before they expire instead of 60 s.
    pub fn with_renewal_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How long before expiry a token is renewed.
    pub fn renewal_margin(&self) -> Duration {
        self.margin
    }

    /// The Keystone v3 URL tokens are requested from.
    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// How many token requests this provider has sent (successful or not).
    pub fn token_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn fresh(&self, cached: &Cached) -> bool {
        match cached.expires {
            Some(expires) => SystemTime::now() + self.margin < expires,
            None => true,
        }
    }

    /// A valid session: the cached one, or a new one when there is none or it expires within
    /// the renewal margin.
    pub async fn session(&self) -> Result<Arc<Session>, AuthError> {
        let mut state = self.state.lock().await;
        if let Some(cached) = state.as_ref().filter(|c| self.fresh(c)) {
            return Ok(cached.session.clone());
        }
        if state.is_some() {
            tracing::info!(credentials = %self.credentials.label(), "token expires soon: renewing it");
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let session = Arc::new(request_token(&self.http, &self.auth_url, &self.credentials).await?);
        let expires = parse_keystone_time(&session.expires_at);
        if expires.is_none() {
            tracing::warn!(expires_at = %session.expires_at, "unreadable token expiry: the token is never renewed before a 401");
        }
        *state = Some(Cached {
            session: session.clone(),
            expires,
        });
        Ok(session)
    }

    /// A valid token.
    pub async fn token(&self) -> Result<Secret, AuthError> {
        Ok(self.session().await?.token.clone())
    }

    /// Forgets the cached session if it still holds `stale` (the token a 401 answered), so the
    /// next call fetches a new one. A token renewed meanwhile by another task is kept.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut state = self.state.lock().await;
        if state.as_ref().is_some_and(|c| &c.session.token == stale) {
            tracing::info!(credentials = %self.credentials.label(), "token refused (401): forgetting it");
            *state = None;
        }
    }

    /// Forgets the cached session unconditionally.
    pub async fn clear(&self) {
        *self.state.lock().await = None;
    }

    /// The base URL for `filter`: the override if set, else the catalog's endpoint, then
    /// `api_version` and `skip_path` applied as Tempest does.
    pub async fn base_url(&self, filter: &EndpointFilter) -> Result<String, AuthError> {
        let url = match &filter.endpoint_override {
            Some(url) => url.clone(),
            None => {
                let session = self.session().await?;
                session
                    .catalog
                    .find(
                        &filter.service_type,
                        filter.service_name.as_deref(),
                        &filter.interface,
                        filter.region.as_deref(),
                    )?
                    .to_owned()
            }
        };
        Ok(apply_url_filters(&url, filter))
    }
}

/// Tempest's `apply_url_filters`: `api_version` replaces the version segment, `skip_path`
/// drops the path.
pub fn apply_url_filters(url: &str, filter: &EndpointFilter) -> String {
    let mut url = url.to_owned();
    if let Some(version) = &filter.api_version {
        url = replace_version(&url, version);
    }
    if filter.skip_path {
        url = skip_path(&url);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_replacement_like_tempest() {
        assert_eq!(
            replace_version("http://h:8774/v2.1", "v2"),
            "http://h:8774/v2"
        );
        assert_eq!(
            replace_version("http://h:8774/v2.1/", "v2"),
            "http://h:8774/v2/"
        );
        assert_eq!(
            replace_version("http://h:8776/v3/abc", "v2"),
            "http://h:8776/v2/abc"
        );
        assert_eq!(replace_version("http://h:6385", "v1"), "http://h:6385/v1");
        assert_eq!(
            replace_version("http://h/compute/", "v2.1"),
            "http://h/compute/v2.1"
        );
        assert_eq!(
            replace_version("http://h/identity/v3?x=1", "v3.1"),
            "http://h/identity/v3.1?x=1"
        );
    }

    #[test]
    fn skip_path_keeps_the_root() {
        assert_eq!(skip_path("http://h:8774/v2.1/abc"), "http://h:8774/");
        assert_eq!(skip_path("http://h:8774"), "http://h:8774");
        let mut filter = EndpointFilter::new("compute");
        filter.api_version = Some("v2".into());
        assert_eq!(apply_url_filters("http://h/v2.1", &filter), "http://h/v2");
        filter.skip_path = true;
        assert_eq!(apply_url_filters("http://h/v2.1", &filter), "http://h/");
    }

    #[test]
    fn identity_uri_normalisation() {
        assert_eq!(
            identity_v3_url("http://h:5000").unwrap(),
            "http://h:5000/v3"
        );
        assert_eq!(
            identity_v3_url("http://h:5000/v3/").unwrap(),
            "http://h:5000/v3"
        );
        assert!(identity_v3_url("http://h:5000/v2.0").is_err());
        assert!(identity_v3_url("h:5000").is_err());
    }
}
