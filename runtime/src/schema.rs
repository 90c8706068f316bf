//! JSON Schemas embedded in the generated code, compiled once on first use and cached.

use std::sync::OnceLock;

use serde_json::Value;

/// OpenStack's `date-time`: ISO 8601 `YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]`. Nova writes
/// timestamps without a zone (`2026-11-23T09:37:18.146894`), which strict RFC 3339 refuses.
pub fn openstack_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let shape = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// One schema violation: where in the body, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// A JSON pointer into the response body (`/flavors/3/swap`); empty for the root.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// A response-body schema embedded as JSON text, with its compiled validator cached.
#[derive(Debug)]
pub struct EmbeddedSchema {
    /// The schema's Rust type name (`CreateKeypairResponseV2_2`).
    pub name: &'static str,
    /// The schema as JSON text (draft 4, references inlined).
    pub json: &'static str,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

impl EmbeddedSchema {
    /// Declares a schema; nothing is parsed until first use.
    pub const fn new(name: &'static str, json: &'static str) -> Self {
        Self {
            name,
            json,
            compiled: OnceLock::new(),
        }
    }

    fn compile(&self) -> Result<jsonschema::Validator, String> {
        let schema: Value = serde_json::from_str(self.json)
            .map_err(|e| format!("embedded schema {} is not JSON: {e}", self.name))?;
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_format("date-time", openstack_date_time)
            .build(&schema)
            .map_err(|e| format!("embedded schema {} does not compile: {e}", self.name))
    }

    /// The compiled validator, built on first use. An error means the embedded schema is broken.
    pub fn validator(&self) -> Result<&jsonschema::Validator, String> {
        self.compiled
            .get_or_init(|| self.compile())
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Validates `instance`, returning every violation (an empty list when valid).
    pub fn violations(&self, instance: &Value) -> Result<Vec<Violation>, String> {
        let validator = self.validator()?;
        Ok(validator
            .iter_errors(instance)
            .map(|e| Violation {
                pointer: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_as_openstack_writes_them() {
        for ok in [
            "2026-11-23T09:37:18.146894",
            "2014-05-07T12:06:13Z",
            "2026-11-23T09:37:18+01:00",
            "2026-11-23 09:37:18",
        ] {
            assert!(openstack_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-11-23",
            "yesterday",
            "2026-11-23T09:37:18.",
            "2026-11-23T09:37:18+1",
        ] {
            assert!(!openstack_date_time(bad), "{bad}");
        }
    }
}
