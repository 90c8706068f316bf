//! Tempest's microversion header helpers.
//!
//! - [`compare_version_header_to_response`]: `requested <op> answered`, false when the header is
//!   missing (some resources, such as compute's v2.0, answer without one).
//! - [`assert_version_header_matches_request`]: the header must be present and equal to what was
//!   requested.
//! - [`assert_answered`]: the same check on a typed [`Response`], where `latest` accepts any
//!   answered version.

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;
use squall_runtime::{ApiVersion, Response, VersionError};

/// A comparison operator, named as Tempest names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl VersionOp {
    /// Applies the operator.
    pub fn apply(self, left: ApiVersion, right: ApiVersion) -> bool {
        match self {
            Self::Lt => left < right,
            Self::Le => left <= right,
            Self::Eq => left == right,
            Self::Ne => left != right,
            Self::Ge => left >= right,
            Self::Gt => left > right,
        }
    }
}

impl FromStr for VersionOp {
    type Err = HeaderCheckError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "lt" => Self::Lt,
            "le" => Self::Le,
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "ge" => Self::Ge,
            "gt" => Self::Gt,
            other => {
                return Err(HeaderCheckError::InvalidOperation {
                    operation: other.to_owned(),
                });
            }
        })
    }
}

impl fmt::Display for VersionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lt => "lt",
            Self::Le => "le",
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Ge => "ge",
            Self::Gt => "gt",
        })
    }
}

/// A version header check that failed or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderCheckError {
    /// The operator is not one of lt, le, eq, ne, ge, gt.
    #[error("operation {operation:?} is invalid; valid operations are lt, le, eq, ne, ge, gt")]
    InvalidOperation {
        /// What was given.
        operation: String,
    },
    /// A version on either side is malformed.
    #[error("cannot compare microversions: {0}")]
    InvalidVersion(#[from] VersionError),
    /// The response does not carry the requested version (Tempest: InvalidHTTPResponseHeader).
    #[error(
        "microversion header {header:?} with value {requested:?} does not match the response: {}",
        found.as_deref().map_or_else(|| "header missing".to_owned(), |f| format!("found {f:?}"))
    )]
    Mismatch {
        /// The header looked at.
        header: String,
        /// The value requested.
        requested: String,
        /// What the response carried, if anything.
        found: Option<String>,
    },
}

/// The version part of a header value: `compute 2.10` gives `2.10`, `2.10` gives itself.
fn version_part(value: &str) -> &str {
    value.split_whitespace().last().unwrap_or("")
}

/// Tempest's `compare_version_header_to_response`: whether `requested <op> answered`, where
/// `answered` is the version in the `header` of `headers`.
///
/// `requested` may be `2.10` or `compute 2.10`. A missing header gives `Ok(false)`; a malformed
/// version on either side is an error.
pub fn compare_version_header_to_response(
    header: &str,
    requested: &str,
    headers: &HeaderMap,
    op: VersionOp,
) -> Result<bool, HeaderCheckError> {
    let Some(value) = headers.get(header) else {
        return Ok(false);
    };
    let answered = value.to_str().unwrap_or("");
    let left = ApiVersion::parse(version_part(requested))?;
    let right = ApiVersion::parse(version_part(answered))?;
    Ok(op.apply(left, right))
}

/// Tempest's `assert_version_header_matches_request`: the `header` must be present and its value
/// equal to `requested` exactly.
pub fn assert_version_header_matches_request(
    header: &str,
    requested: &str,
    headers: &HeaderMap,
) -> Result<(), HeaderCheckError> {
    let found = headers
        .get(header)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    if found.as_deref() == Some(requested) {
        return Ok(());
    }
    Err(HeaderCheckError::Mismatch {
        header: header.to_owned(),
        requested: requested.to_owned(),
        found,
    })
}

/// Checks a typed response against the version requested: a concrete request must be answered
/// with that version, `latest` with any version, and null with the service's default or none.
pub fn assert_answered<T>(
    response: &Response<T>,
    requested: ApiVersion,
) -> Result<(), HeaderCheckError> {
    let ok = match requested {
        ApiVersion::At(version) => response.version == Some(version),
        ApiVersion::Latest => response.version.is_some(),
        ApiVersion::Null => true,
    };
    if ok {
        return Ok(());
    }
    Err(HeaderCheckError::Mismatch {
        header: "(answered microversion)".to_owned(),
        requested: requested.to_string(),
        found: response.version.map(|v| v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, value.parse().unwrap());
        map
    }

    #[test]
    fn comparisons_follow_operator_order_requested_first() {
        let h = headers("openstack-api-version", "compute 2.10");
        let cmp = |requested, op: &str| {
            compare_version_header_to_response(
                "OpenStack-API-Version",
                requested,
                &h,
                op.parse().unwrap(),
            )
            .unwrap()
        };
        assert!(cmp("2.10", "eq"));
        assert!(cmp("compute 2.10", "eq"));
        assert!(cmp("2.9", "lt") && cmp("2.9", "le") && cmp("2.10", "le"));
        assert!(cmp("2.11", "gt") && cmp("2.11", "ge") && cmp("2.10", "ge"));
        assert!(cmp("2.2", "ne") && !cmp("2.10", "ne"));
        assert!(!cmp("2.11", "lt") && !cmp("2.9", "gt"));
    }

    #[test]
    fn missing_header_is_false_and_bad_input_is_an_error() {
        let h = HeaderMap::new();
        assert_eq!(
            compare_version_header_to_response(
                "X-OpenStack-Nova-API-Version",
                "2.1",
                &h,
                VersionOp::Eq
            ),
            Ok(false)
        );
        assert!(matches!(
            "approx".parse::<VersionOp>(),
            Err(HeaderCheckError::InvalidOperation { .. })
        ));
        let h = headers("x-openstack-nova-api-version", "2.x");
        assert!(matches!(
            compare_version_header_to_response(
                "X-OpenStack-Nova-API-Version",
                "2.1",
                &h,
                VersionOp::Eq
            ),
            Err(HeaderCheckError::InvalidVersion(_))
        ));
    }

    #[test]
    fn header_must_echo_the_request() {
        let h = headers("x-openstack-nova-api-version", "2.2");
        assert!(
            assert_version_header_matches_request("X-OpenStack-Nova-API-Version", "2.2", &h)
                .is_ok()
        );
        let err = assert_version_header_matches_request("X-OpenStack-Nova-API-Version", "2.3", &h)
            .unwrap_err();
        assert!(err.to_string().contains("found \"2.2\""), "{err}");
        let err = assert_version_header_matches_request("OpenStack-API-Version", "compute 2.2", &h)
            .unwrap_err();
        assert!(err.to_string().contains("header missing"), "{err}");
    }
}
