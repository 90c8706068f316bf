//! The neutral dump that `scripts/dump/<service>.py` writes: typed, checked, with errors that
//! name the file and the JSON pointer of the offending node.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::source::{Diagnostic, child};
use crate::spec::Method;
use crate::version::Version;

/// The dump format this importer reads.
pub const FORMAT: u32 = 1;

/// A whole dump.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dump {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// squall's name for the service (`compute`).
    pub service: String,
    /// The package the dump was read from.
    pub package: Package,
    /// The service's microversion range; absent for services without microversions.
    pub microversions: Option<Microversions>,
    /// One entry per operation (an action of a `POST …/action` route is its own operation).
    pub operations: Vec<DumpOperation>,
}

/// The introspected package.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Its distribution name (`nova`).
    pub name: String,
    /// Its version (`34.0.0`).
    pub version: String,
}

/// A service's microversion range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Microversions {
    /// Lowest.
    pub min: String,
    /// Highest.
    pub max: String,
}

/// One operation as the service declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpOperation {
    /// Unique, stable key: `METHOD path[#action]`, with ` (root)` appended for an operation served
    /// outside the versioned API; overlays name operations by it.
    pub key: String,
    /// HTTP method.
    pub method: Method,
    /// Path template.
    pub path: String,
    /// The body key of an action (`reboot`), for `POST …/action` routes.
    #[serde(default)]
    pub action: Option<String>,
    /// Served at the service's root, outside the versioned API, without microversion headers
    /// (Nova's unversioned version list).
    #[serde(default)]
    pub root: bool,
    /// Where the handler lives (`module:Class.method`); informational.
    #[serde(default)]
    pub handler: Option<String>,
    /// The versions the operation exists in.
    pub versions: Bounds,
    /// Set when the service removed the operation (it answers 410).
    #[serde(default)]
    pub removed: Option<Removed>,
    /// Request body schemas.
    #[serde(default)]
    pub request: Vec<Variant>,
    /// Query schemas.
    #[serde(default)]
    pub query: Vec<Variant>,
    /// Response body schemas (`{"type": "null"}`: no body).
    #[serde(default)]
    pub response: Vec<Variant>,
    /// Success statuses.
    #[serde(default)]
    pub status: Vec<Codes>,
    /// Expected error statuses.
    #[serde(default)]
    pub errors: Vec<Codes>,
}

/// An optional version range; `None` is open.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// From.
    pub min: Option<String>,
    /// To (inclusive).
    pub max: Option<String>,
}

/// A removed operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// The service release that removed it (not a microversion).
    pub release: Option<String>,
    /// What it answers now.
    pub status: u16,
}

/// A schema over a version range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// From.
    pub min: Option<String>,
    /// To (inclusive).
    pub max: Option<String>,
    /// The JSON Schema.
    pub schema: Value,
}

/// Status codes over a version range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codes {
    /// From.
    pub min: Option<String>,
    /// To (inclusive).
    pub max: Option<String>,
    /// The codes.
    pub codes: Vec<u16>,
}

fn diag(file: &Path, pointer: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        line: None,
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

/// Reads and checks a dump file.
pub fn load(path: &Path) -> Result<Dump, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| diag(path, "", format!("cannot read the dump: {e}")))?;
    parse(path, &text)
}

/// Parses and checks dump text that came from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Dump, Diagnostic> {
    let value: Value = serde_json::from_str(text).map_err(|e| Diagnostic {
        file: path.to_owned(),
        line: Some(e.line()),
        pointer: String::new(),
        message: format!("not JSON: {e}"),
    })?;
    let dump: Dump = serde_path_to_error::deserialize(&value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer = child(&pointer, &index.to_string()),
                Segment::Map { key } => pointer = child(&pointer, key),
                _ => {}
            }
        }
        diag(path, &pointer, e.inner().to_string())
    })?;
    if dump.format != FORMAT {
        return Err(diag(
            path,
            "/format",
            format!(
                "dump format {} is not {FORMAT}: re-run the dump script",
                dump.format
            ),
        ));
    }
    check(path, &dump)?;
    Ok(dump)
}

/// Parses a version bound, pointing at it on failure.
pub fn version(path: &Path, pointer: &str, text: &str) -> Result<Version, Diagnostic> {
    Version::parse(text)
        .ok_or_else(|| diag(path, pointer, format!("invalid microversion {text:?}")))
}

fn check(path: &Path, dump: &Dump) -> Result<(), Diagnostic> {
    if let Some(mv) = &dump.microversions {
        let min = version(path, "/microversions/min", &mv.min)?;
        let max = version(path, "/microversions/max", &mv.max)?;
        if min > max {
            return Err(diag(path, "/microversions", "min is above max"));
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    for (i, op) in dump.operations.iter().enumerate() {
        let at = format!("/operations/{i}");
        if !keys.insert(op.key.as_str()) {
            return Err(diag(
                path,
                &format!("{at}/key"),
                format!("duplicate key {:?}", op.key),
            ));
        }
        if !op.path.starts_with('/') {
            return Err(diag(
                path,
                &format!("{at}/path"),
                "a path template starts with /",
            ));
        }
        let bound = |pointer: String, value: &Option<String>| -> Result<(), Diagnostic> {
            if let Some(text) = value {
                if dump.microversions.is_none() {
                    return Err(diag(
                        path,
                        &pointer,
                        "a service without microversions has no version bounds",
                    ));
                }
                version(path, &pointer, text)?;
            }
            Ok(())
        };
        bound(format!("{at}/versions/min"), &op.versions.min)?;
        bound(format!("{at}/versions/max"), &op.versions.max)?;
        for (facet, variants) in [
            ("request", &op.request),
            ("query", &op.query),
            ("response", &op.response),
        ] {
            for (j, v) in variants.iter().enumerate() {
                bound(format!("{at}/{facet}/{j}/min"), &v.min)?;
                bound(format!("{at}/{facet}/{j}/max"), &v.max)?;
                if !v.schema.is_object() {
                    return Err(diag(
                        path,
                        &format!("{at}/{facet}/{j}/schema"),
                        "a schema is a JSON object",
                    ));
                }
            }
        }
        for (facet, entries) in [("status", &op.status), ("errors", &op.errors)] {
            for (j, c) in entries.iter().enumerate() {
                bound(format!("{at}/{facet}/{j}/min"), &c.min)?;
                bound(format!("{at}/{facet}/{j}/max"), &c.max)?;
                if let Some(bad) = c.codes.iter().find(|c| !(100..600).contains(*c)) {
                    return Err(diag(
                        path,
                        &format!("{at}/{facet}/{j}/codes"),
                        format!("{bad} is not an HTTP status"),
                    ));
                }
            }
        }
    }
    Ok(())
}
