//! The embedded response schemas: one JSON file per distinct schema (pretty-printed, so a spec
//! change reads as a small diff), included by a static that compiles it on first use.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use super::{OperationTypes, screaming};
use crate::intern::{Interner, strip_names};
use crate::version::Span;

/// The distinct response schemas of a service.
#[derive(Debug, Default)]
pub struct Embedded {
    /// (static name, type name, schema), in first-seen order.
    pub schemas: Vec<(String, String, Value)>,
    by_schema: BTreeMap<String, usize>,
    /// (group, operation, span start) -> index into `schemas`.
    pub by_span: BTreeMap<(String, String, Span), usize>,
}

impl Embedded {
    /// The static that validates an operation's body over a span, if it has one.
    pub fn lookup(&self, group: &str, op: &str, span: Span) -> Option<&str> {
        self.by_span
            .get(&(group.to_owned(), op.to_owned(), span))
            .and_then(|i| self.schemas.get(*i))
            .map(|(name, _, _)| name.as_str())
    }
}

/// Collects every distinct response schema, named after the first type that has it.
pub fn collect(
    op_types: &BTreeMap<(String, String), OperationTypes>,
    interner: &Interner,
) -> Embedded {
    let mut out = Embedded::default();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for ((group, op), types) in op_types {
        for (span, body) in &types.bodies {
            let Some(body) = body else { continue };
            let ty = types
                .response
                .iter()
                .find(|v| v.span.min <= span.min && v.span.max.is_none_or(|m| span.min <= m))
                .and_then(|v| v.ty.clone())
                .unwrap_or_default();
            let schema = strip_names(body);
            let key = schema.to_string();
            let index = match out.by_schema.get(&key) {
                Some(&i) => i,
                None => {
                    let target = interner.resolve(&ty).map_or(ty.clone(), |d| d.name.clone());
                    let target = screaming(&target.replacen("Response", "", 1)).to_string();
                    let n = taken.entry(target.clone()).or_default();
                    *n += 1;
                    let name = if *n == 1 {
                        target
                    } else {
                        format!("{target}_{n}")
                    };
                    out.schemas.push((name, ty.clone(), schema));
                    out.by_schema.insert(key, out.schemas.len() - 1);
                    out.schemas.len() - 1
                }
            };
            out.by_span
                .insert((group.clone(), op.clone(), *span), index);
        }
    }
    out
}

/// The statics of `schemas.rs`.
pub fn emit(embedded: &Embedded, include_mode: bool) -> TokenStream {
    let items = embedded.schemas.iter().map(|(name, ty, schema)| {
        let konst = super::ident(name);
        let json = if include_mode {
            let text = schema.to_string();
            quote!(#text)
        } else {
            let file = format!("schemas/{}.json", name.to_lowercase());
            quote!(include_str!(#file))
        };
        quote!(#konst(#ty, #json))
    });
    quote!(rt::schemas!(#(#items),*);)
}

/// The JSON files: `<name>.json`, pretty-printed, marked as generated.
pub fn files(embedded: &Embedded, header: &str) -> Vec<(String, String)> {
    let marker = header.trim().trim_start_matches("//").trim().to_owned();
    embedded
        .schemas
        .iter()
        .map(|(name, _, schema)| {
            let mut document = serde_json::Map::new();
            document.insert("$comment".into(), Value::String(marker.clone()));
            if let Value::Object(map) = schema {
                document.extend(map.clone());
            }
            let text = serde_json::to_string_pretty(&Value::Object(document)).unwrap_or_default();
            (format!("{}.json", name.to_lowercase()), format!("{text}\n"))
        })
        .collect()
}
