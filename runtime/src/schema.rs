//! JSON Schemas embedded in the generated code, compiled once on first use and cached.

use std::sync::OnceLock;

use serde_json::Value;

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
            .with_format("date-time", crate::check::openstack_date_time)
            .with_format("uuid", crate::check::hyphenated_uuid)
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
