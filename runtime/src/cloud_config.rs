//! Cloud configuration: `clouds.yaml` (+ `secure.yaml`), `OS_*` environment variables and
//! Tempest's `tempest.conf`, turned into a [`ServiceClientsBuilder`].
//!
//! - `clouds.yaml` is looked for at `$OS_CLIENT_CONFIG_FILE`, then `./clouds.yaml`,
//!   `~/.config/openstack/clouds.yaml` and `/etc/openstack/clouds.yaml`; `secure.yaml` at
//!   `$OS_CLIENT_SECURE_FILE` and in the same folders, and is merged over it. `OS_CLOUD` picks
//!   the cloud.
//! - Per cloud: `auth` (every Keystone v3 key), `auth_type`, `region_name`, `interface`,
//!   `verify`, `insecure`, `cacert`, `cert`, `key`, and per service `<service>_api_version`,
//!   `<service>_default_microversion`, `<service>_interface`, `<service>_region_name`,
//!   `<service>_endpoint_override`, `<service>_service_type` and `<service>_service_name`.
//! - `OS_*` variables use the same keys in upper case (`OS_AUTH_URL`, `OS_USERNAME`,
//!   `OS_COMPUTE_API_VERSION`, `OS_CACERT`, `OS_INSECURE`, ...).
//! - `tempest.conf`: `[auth] admin_*`, `[identity] uri_v3`/`uri`, `region`,
//!   `disable_ssl_certificate_validation`, `ca_certificates_file`, and per service
//!   `catalog_type`, `endpoint_type`, `region` (`[compute]`, `[placement]`, ...).
//!
//! Every error names the file, the key and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;

use crate::auth::Secret;
use crate::clients::{ClientsError, ServiceClients, ServiceClientsBuilder, ServiceSettings};
use crate::credentials::CredentialsBuilder;
use crate::tempest_conf::Ini;
use crate::version::ApiVersion;

/// Everything needed to build [`ServiceClients`] for one cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// Where the settings came from (`clouds.yaml cloud "squall"`, `OS_* variables`, ...).
    pub source: String,
    /// Keystone's URL.
    pub auth_url: Option<String>,
    /// The credential keys.
    pub credentials: CredentialsBuilder,
    /// The default region.
    pub region: Option<String>,
    /// The default interface.
    pub interface: Option<String>,
    /// Verify TLS certificates (default true).
    pub verify: bool,
    /// A CA bundle to trust.
    pub cacert: Option<PathBuf>,
    /// A client certificate.
    pub cert: Option<PathBuf>,
    /// The client certificate's key.
    pub key: Option<PathBuf>,
    /// Per-service settings, by service module name (`compute`).
    pub services: BTreeMap<String, ServiceSettings>,
}

fn config_error(key: impl Into<String>, reason: impl Into<String>) -> ClientsError {
    ClientsError::Config {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The folders `clouds.yaml` and `secure.yaml` are looked for in, in order.
pub fn config_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".config/openstack"));
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    dirs
}

fn find_file(env: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    config_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn read_yaml(path: &Path) -> Result<Yaml, ClientsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error(path.display().to_string(), format!("cannot read: {e}")))?;
    serde_yaml::from_str(&text)
        .map_err(|e| config_error(path.display().to_string(), format!("not valid YAML: {e}")))
}

/// Merges `over` into `base`, mappings recursively.
fn merge(base: &mut Yaml, over: Yaml) {
    match (base, over) {
        (Yaml::Mapping(base), Yaml::Mapping(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ClientsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        other => Err(config_error(
            key,
            format!("expected true or false, got {other:?}"),
        )),
    }
}

/// The per-service suffixes a top-level key may end with.
const SERVICE_SUFFIXES: &[&str] = &[
    "_default_microversion",
    "_api_version",
    "_interface",
    "_endpoint_type",
    "_region_name",
    "_endpoint_override",
    "_service_type",
    "_service_name",
];

impl CloudConfig {
    fn empty(source: String) -> Self {
        Self {
            source,
            verify: true,
            ..Self::default()
        }
    }

    /// Loads from the environment as openstacksdk does: the `clouds.yaml` cloud named by
    /// `OS_CLOUD` when set, else `OS_*` variables.
    pub fn load() -> Result<Self, ClientsError> {
        match std::env::var("OS_CLOUD") {
            Ok(cloud) if !cloud.is_empty() => Self::from_clouds_yaml(&cloud),
            _ if std::env::var_os("OS_AUTH_URL").is_some() => Self::from_env(),
            _ => Err(config_error(
                "OS_CLOUD",
                "neither OS_CLOUD (a cloud of clouds.yaml) nor OS_AUTH_URL is set",
            )),
        }
    }

    /// The cloud `name` from `clouds.yaml` (with `secure.yaml` merged), found on the standard
    /// search path.
    pub fn from_clouds_yaml(name: &str) -> Result<Self, ClientsError> {
        let clouds = find_file("OS_CLIENT_CONFIG_FILE", "clouds.yaml").ok_or_else(|| {
            config_error(
                "clouds.yaml",
                format!(
                    "not found in $OS_CLIENT_CONFIG_FILE, {}",
                    config_dirs()
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let secure = find_file("OS_CLIENT_SECURE_FILE", "secure.yaml");
        Self::from_files(&clouds, secure.as_deref(), name)
    }

    /// The cloud `name` from these files.
    pub fn from_files(
        clouds: &Path,
        secure: Option<&Path>,
        name: &str,
    ) -> Result<Self, ClientsError> {
        let mut doc = read_yaml(clouds)?;
        if let Some(secure) = secure.filter(|p| p.is_file()) {
            merge(&mut doc, read_yaml(secure)?);
        }
        let file = clouds.display().to_string();
        let cloud = doc.get("clouds").and_then(|c| c.get(name)).ok_or_else(|| {
            let known: Vec<String> = doc
                .get("clouds")
                .and_then(Yaml::as_mapping)
                .map(|m| m.keys().filter_map(scalar).collect())
                .unwrap_or_default();
            config_error(
                format!("{file}: clouds.{name}"),
                format!("no such cloud (known: {known:?})"),
            )
        })?;
        let Some(map) = cloud.as_mapping() else {
            return Err(config_error(
                format!("{file}: clouds.{name}"),
                "not a mapping",
            ));
        };
        let prefix = format!("{file}: clouds.{name}");
        let mut config = Self::empty(format!("clouds.yaml cloud {name:?} ({file})"));
        for (key, value) in map {
            let Some(key) = scalar(key) else { continue };
            if key == "auth" {
                let Some(auth) = value.as_mapping() else {
                    return Err(config_error(format!("{prefix}.auth"), "not a mapping"));
                };
                for (k, v) in auth {
                    let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
                        continue;
                    };
                    config.set_auth(&format!("{prefix}.auth.{k}"), &k, &v)?;
                }
                continue;
            }
            match scalar(value) {
                Some(v) => config.set(&format!("{prefix}.{key}"), &key, &v)?,
                None => tracing::debug!(key = %format!("{prefix}.{key}"), "ignored (not a scalar)"),
            }
        }
        Ok(config)
    }

    /// From `OS_*` environment variables.
    pub fn from_env() -> Result<Self, ClientsError> {
        Self::from_vars(std::env::vars())
    }

    /// From `OS_*` pairs (the environment, or a test's own list).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ClientsError> {
        let mut config = Self::empty("OS_* environment variables".to_owned());
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, v)| k.starts_with("OS_") && !v.is_empty())
            .collect();
        vars.sort();
        for (name, value) in vars {
            let key = name["OS_".len()..].to_ascii_lowercase();
            match key.as_str() {
                "cloud" | "client_config_file" | "client_secure_file" => continue,
                "endpoint_type" => config.set(&name, "interface", &value)?,
                "default_domain" => config.set_auth(&name, "default_domain_id", &value)?,
                _ if is_auth_key(&key) => config.set_auth(&name, &key, &value)?,
                _ => match config.set(&name, &key, &value) {
                    Err(ClientsError::Config { reason, .. }) if reason.starts_with("unknown") => {
                        tracing::debug!(variable = %name, "ignored: not a setting squall reads");
                    }
                    other => other?,
                },
            }
        }
        Ok(config)
    }

    fn set_auth(&mut self, full_key: &str, key: &str, value: &str) -> Result<(), ClientsError> {
        if key == "auth_url" {
            self.auth_url = Some(value.to_owned());
            return Ok(());
        }
        self.credentials
            .set(key, value)
            .map_err(|e| config_error(full_key, e.to_string()))
    }

    fn service(&mut self, name: &str) -> &mut ServiceSettings {
        self.services.entry(name.to_owned()).or_default()
    }

    /// Applies one top-level setting.
    fn set(&mut self, full_key: &str, key: &str, value: &str) -> Result<(), ClientsError> {
        match key {
            "auth_type" => self.credentials.auth_type = Some(value.to_owned()),
            "auth_url" => self.auth_url = Some(value.to_owned()),
            "region_name" | "region" => self.region = Some(value.to_owned()),
            "interface" => self.interface = Some(value.to_owned()),
            "verify" => self.verify = self.verify && parse_bool(full_key, value)?,
            "insecure" => self.verify = self.verify && !parse_bool(full_key, value)?,
            "cacert" => self.cacert = Some(PathBuf::from(value)),
            "cert" => self.cert = Some(PathBuf::from(value)),
            "key" => self.key = Some(PathBuf::from(value)),
            "identity_api_version" => {
                if !value.starts_with('3') {
                    return Err(config_error(
                        full_key,
                        format!("squall speaks Keystone v3 only, not {value:?}"),
                    ));
                }
            }
            // Settings of openstacksdk that do not apply to squall's clients.
            "profile" | "cloud" | "name" | "split_loggers" | "api_timeout" | "image_format"
            | "networks" | "floating_ip_source" | "requests_log" | "operation_log" => {}
            _ => {
                let Some((service, suffix)) = SERVICE_SUFFIXES
                    .iter()
                    .find_map(|s| key.strip_suffix(s).map(|svc| (svc, *s)))
                    .filter(|(svc, _)| !svc.is_empty())
                else {
                    return Err(config_error(full_key, "unknown setting"));
                };
                let settings = self.service(service);
                match suffix {
                    "_default_microversion" => {
                        settings.default_microversion =
                            Some(ApiVersion::parse_option(value).map_err(|e| {
                                config_error(full_key, format!("not a microversion: {e}"))
                            })?);
                    }
                    "_api_version" => {
                        let v = value.trim();
                        if v.is_empty()
                            || !v
                                .trim_start_matches('v')
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == '.')
                        {
                            return Err(config_error(
                                full_key,
                                format!("not an API version like 2 or v2.1: {value:?}"),
                            ));
                        }
                        settings.api_version = Some(if v.starts_with('v') {
                            v.to_owned()
                        } else {
                            format!("v{v}")
                        });
                    }
                    "_interface" | "_endpoint_type" => settings.interface = Some(value.to_owned()),
                    "_region_name" => settings.region = Some(value.to_owned()),
                    "_endpoint_override" => settings.endpoint_override = Some(value.to_owned()),
                    "_service_type" => settings.catalog_type = Some(value.to_owned()),
                    _ => settings.service_name = Some(value.to_owned()),
                }
            }
        }
        Ok(())
    }

    /// From a `tempest.conf`, so a Tempest user's file works: `[auth] admin_username`,
    /// `admin_password`, `admin_project_name`, `admin_domain_name`; `[identity] uri_v3` (or
    /// `uri`), `region`, `v3_endpoint_type`, `disable_ssl_certificate_validation`,
    /// `ca_certificates_file`; per service `catalog_type`, `endpoint_type`, `region`.
    pub fn from_tempest_conf(path: &Path) -> Result<Self, ClientsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error(&file, format!("cannot read: {e}")))?;
        let ini = Ini::parse(&text)
            .map_err(|(line, reason)| config_error(format!("{file}:{line}"), reason))?;
        let key = |section: &str, option: &str| format!("{file}: [{section}] {option}");
        let mut config = Self::empty(format!("tempest.conf ({file})"));
        config.auth_url = ini
            .get("identity", "uri_v3")
            .or_else(|| ini.get("identity", "uri"))
            .map(str::to_owned);
        if config.auth_url.is_none() {
            return Err(config_error(
                key("identity", "uri_v3"),
                "missing: Keystone's URL",
            ));
        }
        let creds = &mut config.credentials;
        let required = |option: &str| {
            ini.get("auth", option).map(str::to_owned).ok_or_else(|| {
                config_error(
                    key("auth", option),
                    "missing (squall uses the admin credentials of [auth])",
                )
            })
        };
        creds.username = Some(required("admin_username")?);
        creds.password = Some(Secret::new(required("admin_password")?));
        creds.project_name = Some(required("admin_project_name")?);
        let domain = ini
            .get("auth", "admin_domain_name")
            .unwrap_or("Default")
            .to_owned();
        creds.user_domain_name = Some(domain.clone());
        creds.project_domain_name = Some(domain);
        config.region = ini.get("identity", "region").map(str::to_owned);
        if let Some(v) = ini.get("identity", "disable_ssl_certificate_validation") {
            config.verify = !parse_bool(&key("identity", "disable_ssl_certificate_validation"), v)?;
        }
        config.cacert = ini
            .get("identity", "ca_certificates_file")
            .map(PathBuf::from);
        for (section, options) in ini.sections() {
            if matches!(section, "DEFAULT" | "auth" | "identity") || section.contains('-') {
                continue;
            }
            let mut settings = ServiceSettings::default();
            for (option, value) in options {
                match option.as_str() {
                    "catalog_type" => settings.catalog_type = Some(value.clone()),
                    "endpoint_type" => settings.interface = Some(value.clone()),
                    "region" if !value.is_empty() => settings.region = Some(value.clone()),
                    _ => {}
                }
            }
            if settings != ServiceSettings::default() {
                config.services.insert(section.to_owned(), settings);
            }
        }
        Ok(config)
    }

    /// Checks the settings and starts a [`ServiceClientsBuilder`].
    pub fn builder(&self) -> Result<ServiceClientsBuilder, ClientsError> {
        let auth_url = self.auth_url.as_deref().ok_or_else(|| {
            config_error(
                format!("{}: auth_url", self.source),
                "missing: Keystone's URL",
            )
        })?;
        let credentials = self
            .credentials
            .build()
            .map_err(|e| config_error(format!("{}: auth", self.source), e.to_string()))?;
        let mut builder = ServiceClients::new(credentials, auth_url).verify_tls(self.verify);
        if let Some(region) = &self.region {
            builder = builder.region(region);
        }
        if let Some(interface) = &self.interface {
            builder = builder.interface(interface);
        }
        if let Some(cacert) = &self.cacert {
            builder = builder.ca_bundle(cacert);
        }
        if let Some(cert) = &self.cert {
            builder = builder.client_cert(cert, self.key.clone());
        }
        for (name, settings) in &self.services {
            builder = builder.service(name, settings.clone());
        }
        Ok(builder)
    }
}

fn is_auth_key(key: &str) -> bool {
    matches!(
        key,
        "auth_url"
            | "user_id"
            | "username"
            | "user_domain_id"
            | "user_domain_name"
            | "password"
            | "token"
            | "application_credential_id"
            | "application_credential_name"
            | "application_credential_secret"
            | "project_id"
            | "project_name"
            | "tenant_id"
            | "tenant_name"
            | "project_domain_id"
            | "project_domain_name"
            | "domain_id"
            | "domain_name"
            | "system_scope"
            | "default_domain_id"
            | "default_domain_name"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_variables() {
        let config = CloudConfig::from_vars(vars(&[
            ("OS_AUTH_URL", "http://k:5000/v3"),
            ("OS_USERNAME", "demo"),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_NAME", "demo"),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_ID", "default"),
            ("OS_REGION_NAME", "RegionTwo"),
            ("OS_INTERFACE", "internal"),
            ("OS_COMPUTE_API_VERSION", "2.1"),
            ("OS_PLACEMENT_DEFAULT_MICROVERSION", "1.20"),
            ("OS_INSECURE", "true"),
            ("OS_IDENTITY_API_VERSION", "3"),
            ("OS_SOMETHING_ELSE", "ignored"),
            ("HOME", "/root"),
        ]))
        .unwrap();
        assert_eq!(config.auth_url.as_deref(), Some("http://k:5000/v3"));
        assert_eq!(config.region.as_deref(), Some("RegionTwo"));
        assert_eq!(config.interface.as_deref(), Some("internal"));
        assert!(!config.verify);
        assert_eq!(
            config.services["compute"].api_version.as_deref(),
            Some("v2.1")
        );
        assert_eq!(
            config.services["placement"].default_microversion,
            Some(ApiVersion::at(1, 20))
        );
        assert!(config.builder().is_ok());
    }

    #[test]
    fn bad_settings_name_key_and_reason() {
        let err = CloudConfig::from_vars(vars(&[("OS_INSECURE", "maybe")])).unwrap_err();
        assert!(
            err.to_string().contains("OS_INSECURE") && err.to_string().contains("true or false"),
            "{err}"
        );
        let err = CloudConfig::from_vars(vars(&[("OS_COMPUTE_DEFAULT_MICROVERSION", "two")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("OS_COMPUTE_DEFAULT_MICROVERSION"),
            "{err}"
        );
        let config = CloudConfig::from_vars(vars(&[
            ("OS_AUTH_URL", "http://k/v3"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "p"),
        ]))
        .unwrap();
        let err = config.builder().unwrap_err();
        assert!(err.to_string().contains("user_domain_name"), "{err}");
    }

    #[test]
    fn clouds_and_secure_yaml_merge() {
        let dir = std::env::temp_dir().join(format!("squall-cc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let clouds = dir.join("clouds.yaml");
        let secure = dir.join("secure.yaml");
        std::fs::write(&clouds, "clouds:\n  c1:\n    auth:\n      auth_url: http://k/v3\n      username: u\n      user_domain_name: Default\n      project_name: p\n      project_domain_name: Default\n    region_name: R1\n    verify: false\n    compute_default_microversion: '2.10'\n    baremetal_api_version: '1'\n").unwrap();
        std::fs::write(
            &secure,
            "clouds:\n  c1:\n    auth:\n      password: s3cret\n",
        )
        .unwrap();
        let config = CloudConfig::from_files(&clouds, Some(&secure), "c1").unwrap();
        assert_eq!(config.credentials.password, Some(Secret::new("s3cret")));
        assert_eq!(config.region.as_deref(), Some("R1"));
        assert!(!config.verify);
        assert_eq!(
            config.services["compute"].default_microversion,
            Some(ApiVersion::at(2, 10))
        );
        assert_eq!(
            config.services["baremetal"].api_version.as_deref(),
            Some("v1")
        );
        let err = CloudConfig::from_files(&clouds, None, "nope").unwrap_err();
        assert!(
            err.to_string().contains("clouds.nope") && err.to_string().contains("c1"),
            "{err}"
        );
        std::fs::write(&clouds, "clouds:\n  c1:\n    bogus_setting: 1\n").unwrap();
        let err = CloudConfig::from_files(&clouds, None, "c1").unwrap_err();
        assert!(
            err.to_string()
                .contains("clouds.c1.bogus_setting: unknown setting"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tempest_conf() {
        let dir = std::env::temp_dir().join(format!("squall-tc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tempest.conf");
        std::fs::write(&path, "[auth]\nadmin_username = admin\nadmin_password = pw\nadmin_project_name = admin\nadmin_domain_name = Default\n\n[identity]\nuri_v3 = http://k:5000/v3\nregion = RegionOne\ndisable_ssl_certificate_validation = false\n\n[compute]\ncatalog_type = compute\nendpoint_type = internalURL\nregion = RegionTwo\n\n[compute-feature-enabled]\nfoo = bar\n").unwrap();
        let config = CloudConfig::from_tempest_conf(&path).unwrap();
        assert!(config.verify);
        assert_eq!(
            config.services["compute"].interface.as_deref(),
            Some("internalURL")
        );
        assert_eq!(
            config.services["compute"].region.as_deref(),
            Some("RegionTwo")
        );
        assert!(!config.services.contains_key("compute-feature-enabled"));
        std::fs::write(
            &path,
            "[identity]\nuri_v3 = http://k/v3\n[auth]\nadmin_username = a\n",
        )
        .unwrap();
        let err = CloudConfig::from_tempest_conf(&path).unwrap_err();
        assert!(err.to_string().contains("[auth] admin_password"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
