//! Tempest's test-selection rules, as pure functions.
//!
//! A test (or a group of tests) declares a range per service it needs; the configuration gives a
//! range per service. With null comparing lowest and `latest` highest:
//!
//! - either range with its minimum above its maximum is an error, not a skip;
//! - the test is skipped when `test_max < cfg_min` or `cfg_max < test_min`;
//! - otherwise the version sent is `max(test_min, cfg_min)`, null when both are null.

use std::collections::BTreeMap;
use std::fmt;

use squall_runtime::{ApiVersion, VersionError};

/// The microversion range a test declares for one service.
///
/// The defaults are Tempest's: no minimum (null) and `latest` as maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRange {
    /// `min_microversion`; null when the test works without a version.
    pub min: ApiVersion,
    /// `max_microversion`; `latest` when open.
    pub max: ApiVersion,
}

impl TestRange {
    /// Builds a range from strings (`"2.2"`, `"latest"`, `""`/`"none"` for null).
    pub fn parse(min: &str, max: &str) -> Result<Self, VersionError> {
        Self::new(
            ApiVersion::parse_option(min)?,
            ApiVersion::parse_option(max)?,
        )
    }

    /// Builds a range, rejecting an inverted one (null comparing lowest, as Tempest does).
    pub fn new(min: ApiVersion, max: ApiVersion) -> Result<Self, VersionError> {
        if min > max {
            return Err(VersionError::InvertedRange {
                min: min.to_string(),
                max: max.to_string(),
            });
        }
        Ok(Self { min, max })
    }
}

impl Default for TestRange {
    fn default() -> Self {
        Self {
            min: ApiVersion::Null,
            max: ApiVersion::Latest,
        }
    }
}

impl fmt::Display for TestRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.min, self.max)
    }
}

/// Run at a version, or skip with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run; the requests carry this version (null: no header).
    Run(ApiVersion),
    /// Skip, and say why.
    Skip(String),
}

/// Decides one service: skip, or run at `max(test_min, cfg_min)`.
///
/// `cfg_min`/`cfg_max` must already be in order (config loading checks it). `config_label`
/// describes the configuration in the skip reason, e.g. `configured none–2.3`.
pub fn decide(
    service: &str,
    test: TestRange,
    cfg_min: ApiVersion,
    cfg_max: ApiVersion,
    config_label: &str,
) -> Decision {
    if test.max < cfg_min || cfg_max < test.min {
        return Decision::Skip(format!("needs {service} {test}; {config_label}"));
    }
    Decision::Run(select_request_version(test.min, cfg_min))
}

/// Tempest's `select_request_microversion`: the larger of the test's and the configuration's
/// minimum.
pub fn select_request_version(test_min: ApiVersion, cfg_min: ApiVersion) -> ApiVersion {
    test_min.max(cfg_min)
}

/// The outcome for a test needing several services: it runs only when every service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Run with these versions, per service.
    Run(BTreeMap<String, ApiVersion>),
    /// Skip; every failing service's reason, joined by `"; and "`.
    Skip(String),
}

/// Combines per-service decisions.
pub fn combine(decisions: impl IntoIterator<Item = (String, Decision)>) -> Selection {
    let mut versions = BTreeMap::new();
    let mut reasons = Vec::new();
    for (service, decision) in decisions {
        match decision {
            Decision::Run(version) => {
                versions.insert(service, version);
            }
            Decision::Skip(reason) => reasons.push(reason),
        }
    }
    if reasons.is_empty() {
        Selection::Run(versions)
    } else {
        Selection::Skip(reasons.join("; and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ApiVersion {
        ApiVersion::parse_option(text).unwrap()
    }

    /// The whole table of the microversion testing spec: test classes A–D against seven
    /// configurations. `None` in an expectation means "skipped".
    #[test]
    fn the_seed_table_holds() {
        let classes = [
            ("A", TestRange::parse("", "latest").unwrap()),
            ("B", TestRange::parse("", "2.2").unwrap()),
            ("C", TestRange::parse("2.3", "latest").unwrap()),
            ("D", TestRange::parse("2.5", "2.10").unwrap()),
        ];
        type Row = ((&'static str, &'static str), [Option<&'static str>; 4]);
        #[rustfmt::skip]
        let table: [Row; 7] = [
            (("", ""),             [Some(""),       Some(""),    None,           None]),
            (("", "2.3"),          [Some(""),       Some(""),    Some("2.3"),    None]),
            (("2.2", "latest"),    [Some("2.2"),    Some("2.2"), Some("2.3"),    Some("2.5")]),
            (("2.2", "2.3"),       [Some("2.2"),    Some("2.2"), Some("2.3"),    None]),
            (("2.10", "2.10"),     [Some("2.10"),   None,        Some("2.10"),   Some("2.10")]),
            (("", "latest"),       [Some(""),       Some(""),    Some("2.3"),    Some("2.5")]),
            (("latest", "latest"), [Some("latest"), None,        Some("latest"), None]),
        ];
        for ((cfg_min, cfg_max), expected) in table {
            for ((name, class), want) in classes.iter().zip(expected) {
                let got = decide("compute", *class, v(cfg_min), v(cfg_max), "configured");
                let want = match want {
                    Some(version) => Decision::Run(v(version)),
                    None => Decision::Skip(format!("needs compute {class}; configured")),
                };
                assert_eq!(
                    got, want,
                    "class {name} under config ({cfg_min:?}, {cfg_max:?})"
                );
            }
        }
    }

    #[test]
    fn skip_reason_names_both_ranges() {
        let test = TestRange::parse("2.5", "2.10").unwrap();
        let decision = decide(
            "compute",
            test,
            ApiVersion::Null,
            v("2.3"),
            "configured none–2.3",
        );
        assert_eq!(
            decision,
            Decision::Skip("needs compute 2.5–2.10; configured none–2.3".to_owned())
        );
    }

    #[test]
    fn inverted_test_range_is_an_error_not_a_skip() {
        assert!(matches!(
            TestRange::parse("2.10", "2.9"),
            Err(VersionError::InvertedRange { .. })
        ));
        // Null compares lowest: a minimum with a null maximum is inverted.
        assert!(TestRange::parse("2.3", "").is_err());
        assert!(TestRange::parse("", "").is_ok());
        assert!(TestRange::parse("2.01", "latest").is_err());
    }

    #[test]
    fn selection_needs_every_service() {
        let run = combine([
            ("compute".to_owned(), Decision::Run(v("2.2"))),
            ("placement".to_owned(), Decision::Run(v("1.14"))),
        ]);
        let Selection::Run(versions) = run else {
            panic!("expected run")
        };
        assert_eq!(versions["placement"], v("1.14"));
        let skip = combine([
            ("compute".to_owned(), Decision::Run(v("2.2"))),
            (
                "placement".to_owned(),
                Decision::Skip("needs placement 1.14–latest".into()),
            ),
        ]);
        assert_eq!(skip, Selection::Skip("needs placement 1.14–latest".into()));
    }

    #[test]
    fn request_version_is_the_larger_minimum() {
        assert_eq!(select_request_version(v("2.3"), v("2.2")), v("2.3"));
        assert_eq!(select_request_version(v(""), v("2.2")), v("2.2"));
        assert_eq!(select_request_version(v(""), v("")), ApiVersion::Null);
        assert_eq!(select_request_version(v("2.5"), v("latest")), v("latest"));
    }
}
