//! Keystone v3 password authentication, tokens and the service catalog.

use serde::Deserialize;

pub use crate::secret::Secret;

/// Authentication or catalog failures.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Keystone could not be reached.
    #[error("keystone at {url}: {source}")]
    Transport {
        /// The auth URL.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Keystone refused the credentials or the request.
    #[error("keystone at {url} answered {status}: {message}")]
    Rejected {
        /// The auth URL.
        url: String,
        /// The status.
        status: u16,
        /// Keystone's message.
        message: String,
    },
    /// Keystone's answer could not be read.
    #[error("keystone at {url}: unreadable token response: {reason}")]
    Malformed {
        /// The auth URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// No catalog endpoint matches.
    #[error(
        "no endpoint in the catalog for type {service_type:?}, interface {interface:?}, region {region:?}"
    )]
    NoEndpoint {
        /// The service type looked up.
        service_type: String,
        /// The interface looked up.
        interface: String,
        /// The region looked up, if any.
        region: Option<String>,
    },
}

impl AuthError {
    /// Tempest's class for a refusal (`Unauthorized` for a wrong password), `None` for other
    /// failures.
    pub fn http_kind(&self) -> Option<crate::status::HttpErrorKind> {
        match self {
            Self::Rejected { status, .. } => {
                Some(crate::status::HttpErrorKind::from_status(*status, false))
            }
            _ => None,
        }
    }
}

/// Keystone v3 password credentials, scoped to a project by name (the simple form; see
/// [`Credentials`](crate::credentials::Credentials) for every method and scope).
#[derive(Debug, Clone)]
pub struct PasswordAuth {
    /// Keystone's v3 URL, e.g. `http://127.0.0.1:15000/v3`.
    pub auth_url: String,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: Secret,
    /// The user's domain name.
    pub user_domain_name: String,
    /// The project to scope to.
    pub project_name: String,
    /// The project's domain name.
    pub project_domain_name: String,
}

impl PasswordAuth {
    /// The same credentials as a [`Credentials`](crate::credentials::Credentials) value.
    pub fn credentials(&self) -> crate::credentials::Credentials {
        crate::credentials::Credentials::password(
            &self.username,
            &self.user_domain_name,
            self.password.clone(),
            &self.project_name,
            &self.project_domain_name,
        )
    }

    /// Requests a token and the catalog from Keystone.
    pub async fn authenticate(&self, http: &reqwest::Client) -> Result<Session, AuthError> {
        request_token(http, &self.auth_url, &self.credentials()).await
    }
}

/// `POST {auth_url}/auth/tokens` with `credentials`; returns the token, its expiry and the
/// catalog. The request body and the token are never logged.
pub async fn request_token(
    http: &reqwest::Client,
    auth_url: &str,
    credentials: &crate::credentials::Credentials,
) -> Result<Session, AuthError> {
    let url = format!("{}/auth/tokens", auth_url.trim_end_matches('/'));
    tracing::debug!(%url, credentials = %credentials.label(), "keystone token request");
    let transport = |source| AuthError::Transport {
        url: url.clone(),
        source,
    };
    let response = http
        .post(&url)
        .header("Accept", "application/json")
        .json(&credentials.token_request())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let token = response
        .headers()
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .map(Secret::new);
    let body = response.bytes().await.map_err(transport)?;
    if status != 201 {
        let message = crate::status::extract_message(&body);
        tracing::debug!(%url, status, %message, "keystone refused the token request");
        return Err(AuthError::Rejected {
            url,
            status,
            message,
        });
    }
    let token = token.ok_or_else(|| AuthError::Malformed {
        url: url.clone(),
        reason: "no X-Subject-Token header".to_owned(),
    })?;
    let parsed: TokenBody = serde_json::from_slice(&body).map_err(|e| AuthError::Malformed {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    tracing::debug!(%url, expires_at = %parsed.token.expires_at, services = parsed.token.catalog.len(), "keystone issued a token");
    Ok(Session {
        token,
        expires_at: parsed.token.expires_at,
        catalog: Catalog {
            services: parsed.token.catalog,
        },
    })
}

/// Parses Keystone's `expires_at` (`2026-01-02T03:04:05.000000Z`, fraction optional, UTC).
pub fn parse_keystone_time(text: &str) -> Option<std::time::SystemTime> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits: String = fraction.chars().take(9).collect();
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    let secs = u64::try_from(secs).ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos))
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    expires_at: String,
    #[serde(default)]
    catalog: Vec<CatalogService>,
}

/// A Keystone token with its expiry and catalog.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token (redacted in `Debug`).
    pub token: Secret,
    /// When the token expires (ISO 8601, as Keystone wrote it).
    pub expires_at: String,
    /// The service catalog.
    pub catalog: Catalog,
}

/// One service in the catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogService {
    /// The service type (`compute`).
    #[serde(rename = "type")]
    pub service_type: String,
    /// The service name (`nova`).
    #[serde(default)]
    pub name: Option<String>,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog service.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEndpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The region (Keystone sends both `region` and `region_id`).
    #[serde(default)]
    pub region: Option<String>,
    /// The region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// The URL.
    pub url: String,
}

/// The service catalog from a token.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The services, as Keystone listed them.
    pub services: Vec<CatalogService>,
}

impl Catalog {
    /// Finds an endpoint URL by service type, interface and optional region, as Tempest does:
    /// type first, then interface (`publicURL` means `public`), then region.
    pub fn endpoint(
        &self,
        service_type: &str,
        interface: &str,
        region: Option<&str>,
    ) -> Result<&str, AuthError> {
        self.find(service_type, None, interface, region)
    }

    /// Like [`endpoint`](Self::endpoint), also matching the service name when given.
    pub fn find(
        &self,
        service_type: &str,
        name: Option<&str>,
        interface: &str,
        region: Option<&str>,
    ) -> Result<&str, AuthError> {
        let interface_norm = interface.trim_end_matches("URL");
        self.services
            .iter()
            .filter(|s| s.service_type == service_type)
            .filter(|s| name.is_none_or(|n| s.name.as_deref() == Some(n)))
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.interface == interface_norm)
            .find(|e| {
                region.is_none_or(|r| {
                    e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                })
            })
            .map(|e| e.url.as_str())
            .ok_or_else(|| AuthError::NoEndpoint {
                service_type: match name {
                    Some(n) => format!("{service_type} (name {n})"),
                    None => service_type.to_owned(),
                },
                interface: interface.to_owned(),
                region: region.map(str::to_owned),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("gAAAAAB-token");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }

    #[test]
    fn catalog_lookup_by_type_interface_region() {
        let catalog = Catalog {
            services: serde_json::from_value(json!([
                {"type": "compute", "name": "nova", "endpoints": [
                    {"interface": "public", "region": "RegionOne", "url": "http://one/v2.1"},
                    {"interface": "public", "region": "RegionTwo", "url": "http://two/v2.1"},
                    {"interface": "internal", "region": "RegionOne", "url": "http://int/v2.1"}
                ]}
            ]))
            .unwrap(),
        };
        assert_eq!(
            catalog
                .endpoint("compute", "publicURL", Some("RegionTwo"))
                .unwrap(),
            "http://two/v2.1"
        );
        assert_eq!(
            catalog.endpoint("compute", "internal", None).unwrap(),
            "http://int/v2.1"
        );
        assert!(catalog.endpoint("placement", "public", None).is_err());
        assert!(
            catalog
                .find("compute", Some("other"), "public", None)
                .is_err()
        );
        assert_eq!(
            catalog
                .find("compute", Some("nova"), "public", None)
                .unwrap(),
            "http://one/v2.1"
        );
    }

    #[test]
    fn keystone_times() {
        let t = parse_keystone_time("2026-03-01T12:30:15.500000Z").unwrap();
        let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(secs.as_secs(), 1_772_368_215);
        assert_eq!(secs.subsec_millis(), 500);
        assert_eq!(
            parse_keystone_time("1970-01-01T00:00:00Z"),
            Some(std::time::UNIX_EPOCH)
        );
        assert_eq!(parse_keystone_time("yesterday"), None);
    }
}
