//! CPU sets in the libvirt and Nova notation: `0-3,8,^2`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A set of host (or guest) CPU ids, parsed from `0-3,8,^2` (ranges, single ids, exclusions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CpuSet(BTreeSet<u32>);

/// A CPU set string that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CPU set {input:?}: {reason}")]
pub struct CpuSetError {
    /// The text.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl CpuSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: u32) -> bool {
        self.0.contains(&cpu)
    }

    /// The number of CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The CPUs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// Whether every CPU of `self` is in `other`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The CPUs in both sets.
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.intersection(&other.0).copied().collect())
    }

    /// The CPUs of `self` that are not in `other`.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.difference(&other.0).copied().collect())
    }

    /// Adds every CPU of `other`.
    pub fn extend(&mut self, other: &CpuSet) {
        self.0.extend(other.0.iter().copied());
    }
}

impl FromIterator<u32> for CpuSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        CpuSet(iter.into_iter().collect())
    }
}

impl FromStr for CpuSet {
    type Err = CpuSetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| CpuSetError {
            input: input.to_owned(),
            reason,
        };
        let number = |text: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| fail(format!("{:?} is not a CPU id", text.trim())))
        };
        let mut included = BTreeSet::new();
        let mut excluded = BTreeSet::new();
        for part in input.split(',').map(str::trim) {
            if part.is_empty() {
                if input.trim().is_empty() {
                    continue;
                }
                return Err(fail("empty element".to_owned()));
            }
            let (target, part) = match part.strip_prefix('^') {
                Some(rest) => (&mut excluded, rest),
                None => (&mut included, part),
            };
            match part.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (number(low)?, number(high)?);
                    if low > high {
                        return Err(fail(format!("range {low}-{high} is reversed")));
                    }
                    target.extend(low..=high);
                }
                None => {
                    target.insert(number(part)?);
                }
            }
        }
        Ok(CpuSet(included.difference(&excluded).copied().collect()))
    }
}

impl fmt::Display for CpuSet {
    /// Formats as compact ranges: `0-3,8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut iter = self.0.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for CpuSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CpuSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_singles_and_exclusions() {
        let set: CpuSet = "0-3, 8,^2".parse().unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 1, 3, 8]);
        assert_eq!(set.to_string(), "0-1,3,8");
        assert!(CpuSet::from_str("").unwrap().is_empty());
    }

    #[test]
    fn rejects_garbage() {
        let err = CpuSet::from_str("3-1").unwrap_err();
        assert!(err.to_string().contains("reversed"), "{err}");
        assert!(CpuSet::from_str("a").is_err());
        assert!(CpuSet::from_str("1,,2").is_err());
    }
}
