//! Overlays: small hand-written YAML files for what a service does not say about itself
//! (better names, groups, human summaries, narrowed schemas). They survive re-import.
//!
//! ```yaml
//! # specs/compute/overlay.yaml
//! groups:                         # path prefix -> group; the longest prefix wins
//!   /os-hypervisors: hypervisors
//! group_summaries:
//!   servers: Servers.
//! changes:                        # a human summary replaces the generated one
//!   keypairs: {"2.2": Keypairs gain `type`.}
//! skip_groups: [versions]         # hand-written groups the import leaves alone
//! narrow_types:                   # in requests and queries, a union of types becomes one
//!   - {from: [integer, string], to: integer}
//! query_parameters:               # merged into every query parameter of that name
//!   limit: {x-squall-query: single, items: {x-squall-type: u32}}
//! paths:                          # better parameter names; the path's shape stays
//!   /os-keypairs/{id}: /os-keypairs/{keypair_name}
//! operations:                     # by the dump's key: METHOD path[#action]
//!   "POST /servers/{id}/action#reboot":
//!     name: reboot_server
//!     group: server_actions
//!     summary: Reboot a server.
//!     patches:                    # JSON Patch on every variant of a facet's schema
//!       - {facet: query, op: replace, path: /properties/limit, value: {type: integer}}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, child};

/// One overlay file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// The service's `service.yaml`, written when the target tree has none (a new service).
    #[serde(default)]
    pub service: Option<Value>,
    /// For a service without microversions: the name of its one version folder (`v3`).
    #[serde(default)]
    pub folder: Option<String>,
    /// Every imported operation's path is relative to the service root (`root: true`).
    #[serde(default)]
    pub root: bool,
    /// Path prefix -> group name; the longest matching prefix wins.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Dump path -> the same path with better parameter names (`/os-keypairs/{id}` ->
    /// `/os-keypairs/{keypair_name}`); parameters become argument names.
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    /// Group -> its summary (the client's rustdoc).
    #[serde(default)]
    pub group_summaries: BTreeMap<String, String>,
    /// Group -> version -> a human summary that replaces the generated one.
    #[serde(default)]
    pub changes: BTreeMap<String, BTreeMap<String, String>>,
    /// Groups the import leaves alone because they are written by hand.
    #[serde(default)]
    pub skip_groups: Vec<String>,
    /// Query parameter name -> an object deep-merged into that parameter's schema in every
    /// query of the service (Nova's `limit` and `marker` arrays are narrowed to one value).
    #[serde(default)]
    pub query_parameters: BTreeMap<String, Value>,
    /// In request bodies and queries, a schema whose `type` is exactly `from` (in order) gets
    /// `type: to`, and loses the string keywords when `to` has no string (Nova accepts `"5"`
    /// for 5; a user sends 5).
    #[serde(default)]
    pub narrow_types: Vec<Narrowing>,
    /// Operations by the dump's key.
    #[serde(default)]
    pub operations: BTreeMap<String, OperationOverlay>,
}

/// One `narrow_types` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narrowing {
    /// The declared types, in the declared order (Nova writes `[integer, string]` for a number
    /// that may come as a string, and `[string, integer]` for an id that may be a number).
    pub from: Vec<String>,
    /// The type or types a user sends.
    pub to: Value,
}

/// What an overlay says about one operation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationOverlay {
    /// The operation's name (snake_case).
    #[serde(default)]
    pub name: Option<String>,
    /// Its group.
    #[serde(default)]
    pub group: Option<String>,
    /// One line about it.
    #[serde(default)]
    pub summary: Option<String>,
    /// Leave it out of the import.
    #[serde(default)]
    pub skip: bool,
    /// Replace the declared success statuses at every version.
    #[serde(default)]
    pub status: Option<Vec<u16>>,
    /// Edits of its schemas.
    #[serde(default)]
    pub patches: Vec<SchemaPatch>,
}

/// Which schema of an operation a patch edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facet {
    /// The query schema.
    Query,
    /// The request body schema.
    Request,
    /// The response body schema.
    Response,
}

impl Facet {
    /// Its name in the dump and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Request => "request",
            Self::Response => "response",
        }
    }
}

/// A JSON Patch operation on every variant of one facet's schema (optionally only variants
/// that overlap `min`–`max`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaPatch {
    /// The facet.
    pub facet: Facet,
    /// `add`, `replace` or `remove`.
    pub op: PatchOp,
    /// A JSON pointer inside the schema.
    pub path: String,
    /// The value for add and replace.
    #[serde(default)]
    pub value: Option<Value>,
    /// First version the patch applies to.
    #[serde(default)]
    pub min: Option<String>,
    /// Last version the patch applies to.
    #[serde(default)]
    pub max: Option<String>,
}

/// JSON Patch operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    /// Add a member.
    Add,
    /// Replace a value.
    Replace,
    /// Remove a value.
    Remove,
}

/// A loaded overlay with its source, for diagnostics with lines.
#[derive(Debug, Clone)]
pub struct LoadedOverlay {
    /// The overlay.
    pub overlay: Overlay,
    /// Its file, when it came from one.
    pub source: Option<SourceFile>,
}

impl LoadedOverlay {
    /// No overlay.
    pub fn empty() -> Self {
        Self {
            overlay: Overlay::default(),
            source: None,
        }
    }

    /// A diagnostic at `pointer` in the overlay file.
    pub fn diagnostic(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        match &self.source {
            Some(file) => file.diagnostic(pointer, message),
            None => Diagnostic {
                file: "<no overlay>".into(),
                line: None,
                pointer: pointer.to_owned(),
                message: message.into(),
            },
        }
    }
}

/// Loads an overlay file.
pub fn load(path: &Path) -> Result<LoadedOverlay, Diagnostic> {
    let file = SourceFile::load(path)?;
    let overlay: Overlay = serde_path_to_error::deserialize(&file.value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer = child(&pointer, &index.to_string()),
                Segment::Map { key } => pointer = child(&pointer, key),
                _ => {}
            }
        }
        file.diagnostic(&pointer, e.inner().to_string())
    })?;
    Ok(LoadedOverlay {
        overlay,
        source: Some(file),
    })
}
