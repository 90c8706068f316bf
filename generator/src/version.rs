//! Concrete microversions as the generator needs them.

use std::fmt;

/// A concrete microversion `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// The major part.
    pub major: u32,
    /// The minor part.
    pub minor: u32,
}

impl Version {
    /// Parses `X.Y` with Tempest's grammar (no leading zeros).
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once('.')?;
        let ok = |s: &str, zero: bool| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" && zero || !s.starts_with('0'))
        };
        if !ok(major, false) || !ok(minor, true) {
            return None;
        }
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The version just below this one within the same major, if any.
    pub fn predecessor(self) -> Option<Self> {
        self.minor.checked_sub(1).map(|minor| Self {
            major: self.major,
            minor,
        })
    }

    /// `V2_10`-style suffix for type and variant names.
    pub fn suffix(self) -> String {
        format!("V{}_{}", self.major, self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An inclusive span of versions; `max: None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First version.
    pub min: Version,
    /// Last version, or open.
    pub max: Option<Version>,
}

impl Span {
    /// Whether `v` lies in the span.
    pub fn contains(&self, v: Version) -> bool {
        v >= self.min && self.max.is_none_or(|m| v <= m)
    }

    /// Number of concrete versions in the span, counting up to `service_max` when open.
    pub fn count(&self, service_max: Version) -> usize {
        let max = self.max.unwrap_or(service_max);
        if max.major != self.min.major || max < self.min {
            return 1;
        }
        (max.minor - self.min.minor + 1) as usize
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "{}", self.min),
            Some(max) => write!(f, "{}–{}", self.min, max),
            None => write!(f, "{}–latest", self.min),
        }
    }
}
