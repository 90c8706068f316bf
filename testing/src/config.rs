//! The configured microversion range per service.
//!
//! Two sources, both optional, both in the shape Tempest users know:
//!
//! - the project's own TOML file (`SQUALL_TEST_CONFIG`), one table per service:
//!
//!   ```toml
//!   [compute]
//!   min_microversion = "2.2"
//!   max_microversion = "latest"
//!   ```
//!
//! - an existing `tempest.conf` (`SQUALL_TEMPEST_CONF`): the `min_microversion` and
//!   `max_microversion` options of `[compute]`, `[placement]`, `[volume]`, `[baremetal]` (and any
//!   other section that has them, such as a plugin's).
//!
//! When both are given, the TOML file wins option by option. A service nobody configures gets
//! Tempest's default, none–none: no microversion header is sent and tests that need a version are
//! skipped.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use squall_runtime::ApiVersion;
use squall_runtime::tempest_conf::Ini;

/// Environment variable naming the project's own TOML configuration file.
pub const CONFIG_ENV: &str = "SQUALL_TEST_CONFIG";
/// Environment variable naming a tempest.conf to read ranges from.
pub const TEMPEST_CONF_ENV: &str = "SQUALL_TEMPEST_CONF";

const MIN_KEY: &str = "min_microversion";
/// Tables of the TOML file that configure credentials, not a service's range.
const NOT_SERVICES: &[&str] = &["auth", "identity"];
const MAX_KEY: &str = "max_microversion";

/// A configuration problem: where it is, which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {key}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file (or `environment`) the value came from.
    pub origin: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The key, as `[section] option`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// One service's configured range and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredRange {
    /// `min_microversion`; null when unset.
    pub min: ApiVersion,
    /// `max_microversion`; null when unset.
    pub max: ApiVersion,
    /// Where the values were read (for messages).
    pub origin: String,
}

impl ConfiguredRange {
    /// Tempest's default: none–none.
    pub fn unset() -> Self {
        Self {
            min: ApiVersion::Null,
            max: ApiVersion::Null,
            origin: "default".to_owned(),
        }
    }
}

impl fmt::Display for ConfiguredRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.min, self.max)
    }
}

/// Configured microversion ranges, per service name (`compute`, `placement`, `baremetal`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MicroversionConfig {
    ranges: BTreeMap<String, ConfiguredRange>,
}

#[derive(Debug, Clone)]
struct RawValue {
    text: String,
    line: Option<usize>,
}

type RawSections = BTreeMap<String, BTreeMap<&'static str, RawValue>>;

impl MicroversionConfig {
    /// No service configured: none–none everywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one service's range from strings (`"2.2"`, `"latest"`, `""` or `"none"` for null).
    pub fn with(mut self, service: &str, min: &str, max: &str) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        raw.insert(
            MIN_KEY,
            RawValue {
                text: min.to_owned(),
                line: None,
            },
        );
        raw.insert(
            MAX_KEY,
            RawValue {
                text: max.to_owned(),
                line: None,
            },
        );
        let range = build_range("code", service, &raw, ConfiguredRange::unset())?;
        self.ranges.insert(service.to_owned(), range);
        Ok(self)
    }

    /// The range configured for `service`, none–none when unset.
    pub fn range(&self, service: &str) -> ConfiguredRange {
        self.ranges
            .get(service)
            .cloned()
            .unwrap_or_else(ConfiguredRange::unset)
    }

    /// The services that have a configured range.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.ranges.keys().map(String::as_str)
    }

    /// Reads the project's TOML format. `origin` names the source in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let sections = parse_toml(text, origin)?;
        Self::default().overlay(&sections, origin)
    }

    /// Reads the microversion options of a tempest.conf. `origin` names the source in errors.
    pub fn from_tempest_conf_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let sections = parse_ini(text, origin)?;
        Self::default().overlay(&sections, origin)
    }

    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_toml_str(&read(path)?, &path.display().to_string())
    }

    /// Reads a tempest.conf file.
    pub fn load_tempest_conf(path: &Path) -> Result<Self, ConfigError> {
        Self::from_tempest_conf_str(&read(path)?, &path.display().to_string())
    }

    /// Layers `other` over `self`: every service `other` configures replaces this one's.
    pub fn merged_with(mut self, other: MicroversionConfig) -> Self {
        self.ranges.extend(other.ranges);
        self
    }

    /// The configuration the environment names: `SQUALL_TEMPEST_CONF`, overlaid by
    /// `SQUALL_TEST_CONFIG`; none–none everywhere when neither is set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = Self::new();
        if let Some(path) = std::env::var_os(TEMPEST_CONF_ENV) {
            config = config.merged_with(Self::load_tempest_conf(Path::new(&path))?);
        }
        if let Some(path) = std::env::var_os(CONFIG_ENV) {
            config = config.merged_with(Self::load(Path::new(&path))?);
        }
        Ok(config)
    }

    fn overlay(mut self, sections: &RawSections, origin: &str) -> Result<Self, ConfigError> {
        for (service, values) in sections {
            let base = self.range(service);
            let range = build_range(origin, service, values, base)?;
            self.ranges.insert(service.clone(), range);
        }
        Ok(self)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        origin: path.display().to_string(),
        line: None,
        key: "(file)".to_owned(),
        reason: format!("cannot be read: {e}"),
    })
}

fn build_range(
    origin: &str,
    service: &str,
    values: &BTreeMap<&'static str, RawValue>,
    base: ConfiguredRange,
) -> Result<ConfiguredRange, ConfigError> {
    let parse = |key: &'static str, fallback: ApiVersion| -> Result<ApiVersion, ConfigError> {
        let Some(raw) = values.get(key) else {
            return Ok(fallback);
        };
        ApiVersion::parse_option(&raw.text).map_err(|e| ConfigError {
            origin: origin.to_owned(),
            line: raw.line,
            key: format!("[{service}] {key}"),
            reason: e.to_string(),
        })
    };
    let min = parse(MIN_KEY, base.min)?;
    let max = parse(MAX_KEY, base.max)?;
    // Tempest's rule: null compares lowest, so a set minimum with an unset maximum is inverted.
    if min > max {
        let line = values
            .get(MIN_KEY)
            .or_else(|| values.get(MAX_KEY))
            .and_then(|v| v.line);
        return Err(ConfigError {
            origin: origin.to_owned(),
            line,
            key: format!("[{service}] {MIN_KEY}/{MAX_KEY}"),
            reason: format!(
                "min_microversion {min} is greater than max_microversion {max} \
                 (an unset bound is \"none\", the lowest version)"
            ),
        });
    }
    Ok(ConfiguredRange {
        min,
        max,
        origin: origin.to_owned(),
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|b| *b == b'\n').count())
        + 1
}

fn option_key(name: &str) -> Option<&'static str> {
    match name {
        MIN_KEY => Some(MIN_KEY),
        MAX_KEY => Some(MAX_KEY),
        _ => None,
    }
}

fn parse_toml(text: &str, origin: &str) -> Result<RawSections, ConfigError> {
    type Doc = BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>>;
    let doc: Doc = toml::from_str(text).map_err(|e| ConfigError {
        origin: origin.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        key: "(syntax)".to_owned(),
        reason: e.message().to_owned(),
    })?;
    let mut sections = RawSections::new();
    for (service, table) in doc {
        let line = line_of(text, service.span().start);
        let service = service.into_inner();
        // Credentials and the identity endpoint (see `crate::credentials`), not a service.
        if NOT_SERVICES.contains(&service.as_str()) {
            continue;
        }
        let toml::Value::Table(table) = table.into_inner() else {
            return Err(ConfigError {
                origin: origin.to_owned(),
                line: Some(line),
                key: service,
                reason: "must be a table such as [compute] with min_microversion and \
                         max_microversion"
                    .to_owned(),
            });
        };
        let mut values = BTreeMap::new();
        for (name, value) in table {
            // Spans of nested values are not kept by `toml::Table`; find the key's line instead.
            let line = find_key_line(text, &service, &name);
            let key = option_key(&name).ok_or_else(|| ConfigError {
                origin: origin.to_owned(),
                line,
                key: format!("[{service}] {name}"),
                reason: "unknown option; expected min_microversion or max_microversion".to_owned(),
            })?;
            let toml::Value::String(text) = value else {
                return Err(ConfigError {
                    origin: origin.to_owned(),
                    line,
                    key: format!("[{service}] {name}"),
                    reason: format!(
                        "must be a string such as \"2.2\" or \"latest\", not a {}",
                        value.type_str()
                    ),
                });
            };
            values.insert(key, RawValue { text, line });
        }
        sections.insert(service, values);
    }
    Ok(sections)
}

/// The line of `name = ...` inside `[section]` of a TOML or INI text.
fn find_key_line(text: &str, section: &str, name: &str) -> Option<usize> {
    let mut current = None::<String>;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(header.trim().to_owned());
        } else if current.as_deref() == Some(section)
            && line
                .split_once(['=', ':'])
                .is_some_and(|(key, _)| key.trim() == name)
        {
            return Some(index + 1);
        }
    }
    None
}

/// Reads the microversion options of an oslo.config INI file (tempest.conf), with the runtime's
/// INI reader; lines are found again for messages.
fn parse_ini(text: &str, origin: &str) -> Result<RawSections, ConfigError> {
    let ini = Ini::parse(text).map_err(|(line, reason)| ConfigError {
        origin: origin.to_owned(),
        line: Some(line),
        key: "(syntax)".to_owned(),
        reason,
    })?;
    let mut sections = RawSections::new();
    for (section, options) in ini.sections() {
        for key in [MIN_KEY, MAX_KEY] {
            if let Some(value) = options.get(key) {
                sections.entry(section.to_owned()).or_default().insert(
                    key,
                    RawValue {
                        text: value.clone(),
                        line: find_key_line(text, section, key),
                    },
                );
            }
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_ranges_per_service() {
        let config = MicroversionConfig::from_toml_str(
            "[compute]\nmin_microversion = \"2.2\"\nmax_microversion = \"latest\"\n\n\
             [placement]\nmax_microversion = \"1.20\"\n",
            "squall-test.toml",
        )
        .unwrap();
        let compute = config.range("compute");
        assert_eq!(
            (compute.min, compute.max),
            (ApiVersion::at(2, 2), ApiVersion::Latest)
        );
        let placement = config.range("placement");
        assert_eq!(
            (placement.min, placement.max),
            (ApiVersion::Null, ApiVersion::at(1, 20))
        );
        assert_eq!(config.range("baremetal"), ConfiguredRange::unset());
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let err = MicroversionConfig::from_toml_str(
            "[compute]\nmin_microversion = \"2.01\"\n",
            "cfg.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key, "[compute] min_microversion");
        assert!(
            err.to_string()
                .starts_with("cfg.toml:2: [compute] min_microversion: invalid")
        );

        let err = MicroversionConfig::from_toml_str("[compute]\nmin_version = \"2.1\"\n", "c")
            .unwrap_err();
        assert!(err.reason.contains("unknown option"), "{err}");
        let err = MicroversionConfig::from_toml_str("[compute]\nmax_microversion = 2.1\n", "c")
            .unwrap_err();
        assert!(err.reason.contains("must be a string"), "{err}");
        let err = MicroversionConfig::from_toml_str("[compute\n", "c").unwrap_err();
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn inverted_and_half_open_ranges_are_errors() {
        let err = MicroversionConfig::from_toml_str(
            "[compute]\nmin_microversion = \"2.10\"\nmax_microversion = \"2.9\"\n",
            "c",
        )
        .unwrap_err();
        assert!(err.reason.contains("greater than"), "{err}");
        // Tempest compares null lowest: a minimum without a maximum is inverted too.
        assert!(
            MicroversionConfig::new()
                .with("compute", "2.2", "")
                .is_err()
        );
        assert!(MicroversionConfig::new().with("compute", "", "2.2").is_ok());
    }

    #[test]
    fn tempest_conf_sections_are_read() {
        let text = "[DEFAULT]\nlog_dir = /tmp\n\n[compute]\n# a comment\n\
                    min_microversion = 2.10\nmax_microversion = latest\nflavor_ref = 42\n\
                    [baremetal]\nmin_microversion: 1.31\nmax_microversion: 1.31\n\
                    [volume]\ncatalog_type = volumev3\n";
        let config = MicroversionConfig::from_tempest_conf_str(text, "tempest.conf").unwrap();
        assert_eq!(config.range("compute").min, ApiVersion::at(2, 10));
        assert_eq!(config.range("compute").max, ApiVersion::Latest);
        assert_eq!(config.range("baremetal").max, ApiVersion::at(1, 31));
        assert_eq!(config.range("volume"), ConfiguredRange::unset());

        let err = MicroversionConfig::from_tempest_conf_str(
            "[compute]\nmax_microversion = 2.x\n",
            "tempest.conf",
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.key.as_str()),
            (Some(2), "[compute] max_microversion")
        );
    }

    #[test]
    fn own_config_overrides_tempest_per_service() {
        let tempest = MicroversionConfig::from_tempest_conf_str(
            "[compute]\nmin_microversion = 2.1\nmax_microversion = 2.5\n\
             [placement]\nmax_microversion = 1.10\n",
            "tempest.conf",
        )
        .unwrap();
        let own = MicroversionConfig::from_toml_str(
            "[compute]\nmin_microversion = \"2.2\"\nmax_microversion = \"latest\"\n",
            "own.toml",
        )
        .unwrap();
        let merged = tempest.merged_with(own);
        assert_eq!(merged.range("compute").max, ApiVersion::Latest);
        assert_eq!(merged.range("compute").origin, "own.toml");
        assert_eq!(merged.range("placement").max, ApiVersion::at(1, 10));
    }
}
