//! `squall-gen diff`: what changes between two microversions of a service, in words.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::resolve::{Facets, Service};
use crate::version::Version;

fn facets_at<'s>(service: &'s Service, group: &str, op: &str, v: Version) -> Option<&'s Facets> {
    service
        .groups
        .get(group)?
        .operations
        .get(op)?
        .spans
        .iter()
        .find(|s| s.span.contains(v))
        .map(|s| &s.facets)
}

/// Property paths (`keypair.type`) and required markers of a schema, for comparison.
fn fields(schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    if let Some(Value::Object(props)) = map.get("properties") {
        let required: BTreeSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, sub) in props {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.insert(if required.contains(name.as_str()) {
                format!("{path} (required)")
            } else {
                path.clone()
            });
            fields(sub, &path, out);
        }
    }
    if let Some(items) = map.get("items") {
        fields(items, &format!("{prefix}[]"), out);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = map.get(key) {
            for m in members {
                fields(m, prefix, out);
            }
        }
    }
}

fn schema_change(what: &str, old: &Option<Value>, new: &Option<Value>) -> Option<String> {
    match (old, new) {
        (None, None) => None,
        (None, Some(_)) => Some(format!("{what}: now has a schema")),
        (Some(_), None) => Some(format!("{what}: no longer has one")),
        (Some(a), Some(b)) if a == b => None,
        (Some(a), Some(b)) => {
            let (mut fa, mut fb) = (BTreeSet::new(), BTreeSet::new());
            fields(a, "", &mut fa);
            fields(b, "", &mut fb);
            let added: Vec<String> = fb.difference(&fa).map(|f| format!("`{f}`")).collect();
            let removed: Vec<String> = fa.difference(&fb).map(|f| format!("`{f}`")).collect();
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("adds {}", added.join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("drops {}", removed.join(", ")));
            }
            if parts.is_empty() {
                parts.push("constraints change".to_owned());
            }
            Some(format!("{what}: {}", parts.join("; ")))
        }
    }
}

/// Describes every change between `from` and `to`, one line per operation.
pub fn describe(service: &Service, from: Version, to: Version) -> Vec<String> {
    let mut lines = Vec::new();
    for (group_name, group) in &service.groups {
        for op in group.operations.keys() {
            let (a, b) = (
                facets_at(service, group_name, op, from),
                facets_at(service, group_name, op, to),
            );
            let (a, b) = match (a, b) {
                (None, None) => continue,
                (None, Some(_)) => {
                    lines.push(format!("{group_name}.{op}: added"));
                    continue;
                }
                (Some(_), None) => {
                    lines.push(format!("{group_name}.{op}: removed"));
                    continue;
                }
                (Some(a), Some(b)) => (a, b),
            };
            let mut parts = Vec::new();
            if a.statuses != b.statuses {
                parts.push(format!("status {:?} -> {:?}", a.statuses, b.statuses));
            }
            if a.method != b.method || a.path != b.path {
                parts.push(format!(
                    "{} {} -> {} {}",
                    a.method.as_str(),
                    a.path,
                    b.method.as_str(),
                    b.path
                ));
            }
            parts.extend(schema_change("request", &a.request, &b.request));
            parts.extend(schema_change("query", &a.query, &b.query));
            parts.extend(schema_change("response", &a.body, &b.body));
            if a.errors != b.errors {
                parts.push(format!("errors {:?} -> {:?}", a.errors, b.errors));
            }
            if !parts.is_empty() {
                lines.push(format!("{group_name}.{op}: {}", parts.join("; ")));
            }
        }
    }
    lines
}
