//! Rustdoc of the generated methods: summary, path, and what changes at each version.

use super::{OperationTypes, Variant};
use crate::resolve::{Group, OperationSpan, ResolvedOperation};

/// Rustdoc for a method: summary, path, and one line per span with what changes there.
pub fn method_doc(group: &Group, op: &ResolvedOperation, t: &OperationTypes) -> String {
    let first = &op.spans[0].facets;
    let mut doc = first
        .summary
        .clone()
        .unwrap_or_else(|| format!("The `{}` operation.", op.name));
    doc.push_str(&format!("\n\n`{} {}`", first.method.as_str(), first.path));
    doc.push_str("\n\n# Microversions\n");
    let mut previous: Option<&OperationSpan> = None;
    for span in &op.spans {
        let f = &span.facets;
        let mut parts = Vec::new();
        let statuses = f
            .statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("status {statuses}"));
        let typed = |variants: &[Variant]| {
            variants
                .iter()
                .find(|v| v.span.contains(span.span.min))
                .and_then(|v| v.ty.clone())
        };
        if let Some(ty) = typed(&t.request) {
            parts.push(format!("request [`{ty}`](super::types::{ty})"));
        }
        if let Some(ty) = typed(&t.query) {
            parts.push(format!("query [`{ty}`](super::types::{ty})"));
        }
        match typed(&t.response) {
            Some(ty) => parts.push(format!("response [`{ty}`](super::types::{ty})")),
            None => parts.push("no body".to_owned()),
        }
        if previous.is_some_and(|p| p.facets.path != f.path || p.facets.method != f.method) {
            parts.push(format!("`{} {}`", f.method.as_str(), f.path));
        }
        if !f.errors.is_empty() {
            let errors = f
                .errors
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!("errors {errors}"));
        }
        doc.push_str(&format!("\n- **{}**: {}.", span.span, parts.join("; ")));
        if previous.is_some()
            && let Some(change) = group.changes.get(&span.span.min)
        {
            doc.push_str(&format!(" *Changed at {}:* {change}", span.span.min));
        }
        previous = Some(span);
    }
    if let Some(last) = op.spans.last()
        && !last.facets.headers.is_empty()
    {
        doc.push_str(&format!(
            "\n\nResponse headers: {}.",
            last.facets.headers.join(", ")
        ));
    }
    doc
}
