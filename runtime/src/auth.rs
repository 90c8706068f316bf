//! Keystone v3 password authentication, tokens and the service catalog.

use std::fmt;

use serde::Deserialize;
use serde_json::json;

/// A secret string (token, password). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; use only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

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

/// Keystone v3 password credentials, scoped to a project by name.
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
    fn request_body(&self) -> serde_json::Value {
        json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.username,
                "domain": {"name": self.user_domain_name},
                "password": self.password.expose(),
            }}},
            "scope": {"project": {
                "name": self.project_name,
                "domain": {"name": self.project_domain_name},
            }},
        }})
    }

    /// Requests a token and the catalog from Keystone.
    pub async fn authenticate(&self, http: &reqwest::Client) -> Result<Session, AuthError> {
        let url = format!("{}/auth/tokens", self.auth_url.trim_end_matches('/'));
        tracing::debug!(%url, user = %self.username, project = %self.project_name, "keystone password auth");
        let transport = |source| AuthError::Transport {
            url: url.clone(),
            source,
        };
        let response = http
            .post(&url)
            .json(&self.request_body())
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
            return Err(AuthError::Rejected {
                url,
                status,
                message: crate::error::extract_message(&body),
            });
        }
        let token = token.ok_or_else(|| AuthError::Malformed {
            url: url.clone(),
            reason: "no X-Subject-Token header".to_owned(),
        })?;
        let parsed: TokenBody =
            serde_json::from_slice(&body).map_err(|e| AuthError::Malformed {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Session {
            token,
            expires_at: parsed.token.expires_at,
            catalog: Catalog {
                services: parsed.token.catalog,
            },
        })
    }
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
        let interface_norm = interface.trim_end_matches("URL");
        self.services
            .iter()
            .filter(|s| s.service_type == service_type)
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.interface == interface_norm)
            .find(|e| {
                region.is_none_or(|r| {
                    e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                })
            })
            .map(|e| e.url.as_str())
            .ok_or_else(|| AuthError::NoEndpoint {
                service_type: service_type.to_owned(),
                interface: interface.to_owned(),
                region: region.map(str::to_owned),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
