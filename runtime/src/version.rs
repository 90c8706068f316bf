//! Microversions: concrete versions, Tempest's version requests (with `latest` and null), and ranges.
//!
//! The grammar follows tempest.lib's `api_version_request`: a version is `X.Y` where `X` is a
//! positive integer without leading zeros and `Y` is `0` or a positive integer without leading
//! zeros, or the literal `latest`. A null (absent) version compares lowest, `latest` highest.

use std::fmt;
use std::str::FromStr;

/// A version string that does not follow the microversion grammar, or an inverted range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The text is not `X.Y` or `latest`.
    #[error("invalid microversion {text:?}: expected `X.Y` (no leading zeros) or `latest`")]
    Invalid {
        /// The offending text.
        text: String,
    },
    /// `latest` was given where a concrete version is required.
    #[error("`latest` is not allowed here; a concrete `X.Y` version is required")]
    LatestNotAllowed,
    /// `matches` was asked of a null version (Tempest raises `ValueError`).
    #[error("a null microversion cannot be matched against a range")]
    NullVersion,
    /// The minimum of a range is above its maximum.
    #[error("inverted microversion range: min {min} is greater than max {max}")]
    InvertedRange {
        /// The lower bound as given.
        min: String,
        /// The upper bound as given.
        max: String,
    },
}

/// A concrete microversion `major.minor`, e.g. `2.92`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Microversion {
    /// The major part (`2` in `2.92`).
    pub major: u32,
    /// The minor part (`92` in `2.92`).
    pub minor: u32,
}

impl Microversion {
    /// Builds `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Whether this version lies in `[min, max]`, where a `None` bound is open.
    pub fn within(self, min: Option<Microversion>, max: Option<Microversion>) -> bool {
        min.is_none_or(|m| self >= m) && max.is_none_or(|m| self <= m)
    }
}

fn parse_component(text: &str, allow_zero: bool) -> Option<u32> {
    let valid = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" && allow_zero || !text.starts_with('0'));
    if valid { text.parse().ok() } else { None }
}

impl FromStr for Microversion {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "latest" {
            return Err(VersionError::LatestNotAllowed);
        }
        let invalid = || VersionError::Invalid {
            text: text.to_owned(),
        };
        let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
        let major = parse_component(major, false).ok_or_else(invalid)?;
        let minor = parse_component(minor, true).ok_or_else(invalid)?;
        Ok(Self { major, minor })
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A requested version as Tempest models it: null (send no header), a concrete version, or
/// `latest` (sent literally; the server resolves it).
///
/// Ordering: `Null` < every concrete version < `Latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ApiVersion {
    /// No version: no header is sent and the server uses its default.
    #[default]
    Null,
    /// A concrete version.
    At(Microversion),
    /// The literal `latest`.
    Latest,
}

impl ApiVersion {
    /// Parses `X.Y` or `latest` as Tempest's `APIVersionRequest` does; `none`/`None` (how
    /// Python's `None` and this type's `Display` spell null) give [`ApiVersion::Null`]. The
    /// empty string is refused, as `APIVersionRequest("")` refuses it; a config reader that
    /// treats an empty option as unset uses [`parse_option`](Self::parse_option).
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        match text {
            "none" | "None" => Ok(Self::Null),
            "latest" => Ok(Self::Latest),
            other => other.parse().map(Self::At),
        }
    }

    /// Parses a config option: empty (or only spaces) is unset, i.e. null; anything else as
    /// [`parse`](Self::parse).
    pub fn parse_option(text: &str) -> Result<Self, VersionError> {
        match text.trim() {
            "" => Ok(Self::Null),
            other => Self::parse(other),
        }
    }

    /// Builds a concrete version.
    pub const fn at(major: u32, minor: u32) -> Self {
        Self::At(Microversion::new(major, minor))
    }

    /// Whether this is the null version.
    pub fn is_null(self) -> bool {
        self == Self::Null
    }

    /// The concrete version, if this is one.
    pub fn concrete(self) -> Option<Microversion> {
        match self {
            Self::At(v) => Some(v),
            _ => None,
        }
    }

    /// Tempest's `matches(min, max)`: inclusive, and a null bound is open. Asking it of a
    /// null version is an error, as in Tempest.
    pub fn matches(self, min: ApiVersion, max: ApiVersion) -> Result<bool, VersionError> {
        if self.is_null() {
            return Err(VersionError::NullVersion);
        }
        Ok((min.is_null() || self >= min) && (max.is_null() || self <= max))
    }

    /// The text sent on the wire, or `None` for null.
    pub fn header_value(self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::At(v) => Some(v.to_string()),
            Self::Latest => Some("latest".to_owned()),
        }
    }
}

impl FromStr for ApiVersion {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl From<Microversion> for ApiVersion {
    fn from(v: Microversion) -> Self {
        Self::At(v)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("none"),
            Self::At(v) => v.fmt(f),
            Self::Latest => f.write_str("latest"),
        }
    }
}

/// An inclusive range of requested versions whose bounds may be null (open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    min: ApiVersion,
    max: ApiVersion,
}

impl VersionRange {
    /// Builds a range, rejecting one whose min is above its max (both non-null).
    pub fn new(min: ApiVersion, max: ApiVersion) -> Result<Self, VersionError> {
        if !min.is_null() && !max.is_null() && min > max {
            return Err(VersionError::InvertedRange {
                min: min.to_string(),
                max: max.to_string(),
            });
        }
        Ok(Self { min, max })
    }

    /// Parses both bounds (an empty bound is unset, see [`ApiVersion::parse_option`]) and
    /// builds the range.
    pub fn parse(min: &str, max: &str) -> Result<Self, VersionError> {
        Self::new(
            ApiVersion::parse_option(min)?,
            ApiVersion::parse_option(max)?,
        )
    }

    /// The lower bound.
    pub fn min(&self) -> ApiVersion {
        self.min
    }

    /// The upper bound.
    pub fn max(&self) -> ApiVersion {
        self.max
    }

    /// Whether `version` lies in the range; an error for a null version (see
    /// [`ApiVersion::matches`]).
    pub fn contains(&self, version: ApiVersion) -> Result<bool, VersionError> {
        version.matches(self.min, self.max)
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_accepts_tempest_forms() {
        assert_eq!("2.1".parse::<Microversion>(), Ok(Microversion::new(2, 1)));
        assert_eq!("2.0".parse::<Microversion>(), Ok(Microversion::new(2, 0)));
        assert_eq!(
            "10.104".parse::<Microversion>(),
            Ok(Microversion::new(10, 104))
        );
        assert_eq!(ApiVersion::parse("latest"), Ok(ApiVersion::Latest));
        assert_eq!(ApiVersion::parse("None"), Ok(ApiVersion::Null));
    }

    #[test]
    fn empty_string_is_not_a_version_but_an_empty_option_is_unset() {
        // tempest.lib: APIVersionRequest("") raises InvalidAPIVersionString.
        assert_eq!(
            ApiVersion::parse(""),
            Err(VersionError::Invalid {
                text: String::new()
            })
        );
        assert!("".parse::<ApiVersion>().is_err());
        assert_eq!(ApiVersion::parse_option(""), Ok(ApiVersion::Null));
        assert_eq!(ApiVersion::parse_option("  "), Ok(ApiVersion::Null));
        assert_eq!(ApiVersion::parse_option(" 2.3 "), Ok(ApiVersion::at(2, 3)));
        assert!(ApiVersion::parse_option("2.03").is_err());
    }

    #[test]
    fn matches_on_a_null_version_is_an_error() {
        // tempest.lib: APIVersionRequest().matches(...) raises ValueError.
        let null = ApiVersion::Null;
        assert_eq!(
            null.matches(ApiVersion::Null, ApiVersion::Null),
            Err(VersionError::NullVersion)
        );
        assert_eq!(
            null.matches(ApiVersion::at(2, 1), ApiVersion::Latest),
            Err(VersionError::NullVersion)
        );
        let range = VersionRange::parse("2.1", "").unwrap();
        assert_eq!(range.contains(null), Err(VersionError::NullVersion));
        assert_eq!(range.contains(ApiVersion::at(2, 1)), Ok(true));
    }

    #[test]
    fn grammar_rejects_malformed() {
        for bad in [
            "2.01", "02.1", " 2.1", "2.1 ", "2.1.1", "2", "0.1", "2.", ".1", "a.b", "2.latest",
        ] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(
            "latest".parse::<Microversion>(),
            Err(VersionError::LatestNotAllowed)
        );
    }

    #[test]
    fn ordering_null_lowest_latest_highest() {
        let null = ApiVersion::Null;
        let v = ApiVersion::at(2, 10);
        assert!(null < ApiVersion::at(1, 0));
        assert!(
            v > ApiVersion::at(2, 9),
            "numeric, not lexical, minor comparison"
        );
        assert!(ApiVersion::Latest > ApiVersion::at(99, 99));
    }

    #[test]
    fn matches_is_inclusive_with_open_bounds() {
        let v = ApiVersion::at(2, 5);
        assert_eq!(
            v.matches(ApiVersion::at(2, 5), ApiVersion::at(2, 5)),
            Ok(true)
        );
        assert_eq!(v.matches(ApiVersion::Null, ApiVersion::Null), Ok(true));
        assert_eq!(v.matches(ApiVersion::at(2, 6), ApiVersion::Null), Ok(false));
        assert_eq!(v.matches(ApiVersion::Null, ApiVersion::at(2, 4)), Ok(false));
        assert_eq!(ApiVersion::Latest.matches(v, ApiVersion::Null), Ok(true));
    }

    #[test]
    fn inverted_range_is_an_error() {
        assert!(matches!(
            VersionRange::parse("2.10", "2.9"),
            Err(VersionError::InvertedRange { .. })
        ));
        assert!(VersionRange::parse("2.9", "latest").is_ok());
    }
}
