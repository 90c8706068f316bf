//! Conformance of the one-pass typed decode with the JSON Schema.
//!
//! Every response body the integration tests received (captured by the runtime into
//! `$SQUALL_CAPTURE_DIR` while they ran; `scripts/test` sets it and runs this test after them),
//! plus a few bodies built here, goes through `Validation::Strict` (the typed decode checks
//! every constraint) and `Validation::CrossCheck` (the compiled JSON Schema first, as Tempest
//! validates). They must give the same verdict on every body. Then each body is mutated, guided
//! by its schema (an unknown field, a wrong type, a pattern, format or bound violated): every
//! mutation the schema rejects, Strict must reject too, with the same first JSON pointer; every
//! mutation the schema accepts, Strict must accept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use squall::runtime::{Error, Microversion, OperationEntry, ServiceTable, Validation};

/// One response body and where it came from.
#[derive(Debug, Clone)]
struct Body {
    service: String,
    operation: String,
    version: Option<String>,
    text: String,
}

/// The captured bodies in `dir` (`*.jsonl`, one JSON object per line), without duplicates.
fn captured(dir: &Path) -> Vec<Body> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            let Ok(record) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let field = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(service), Some(operation), Some(text)) =
                (field("service"), field("operation"), field("body"))
            else {
                continue;
            };
            let body = Body {
                service,
                operation,
                version: field("version"),
                text,
            };
            if seen.insert((
                body.service.clone(),
                body.operation.clone(),
                body.version.clone(),
                body.text.clone(),
            )) {
                out.push(body);
            }
        }
    }
    out
}

/// Bodies built here, so the test checks something without captures.
fn built() -> Vec<Body> {
    let flavors: Vec<Value> = (0..3)
        .map(|i| {
            let id = format!("{i:08}-aaaa-bbbb-cccc-{i:012}");
            json!({
                "id": id, "name": format!("flavor-{i}"), "ram": 512, "disk": 1, "vcpus": 1,
                "swap": 0, "rxtx_factor": 1.0, "description": null,
                "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false,
                "os-flavor-access:is_public": true, "extra_specs": {"hw:cpu_policy": "dedicated"},
                "links": [
                    {"rel": "self", "href": format!("http://127.0.0.1:15002/v2.1/flavors/{id}")},
                    {"rel": "bookmark", "href": format!("http://127.0.0.1:15002/flavors/{id}")}
                ]
            })
        })
        .collect();
    let keypair = json!({"keypair": {"name": "kp-1", "type": "ssh",
        "fingerprint": "3c:71:1b:2d:e1:7a:4a:58:6c:9c:4f:3a:2b:1d:5e:6f",
        "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBody conformance@squall"}});
    let body = |operation: &str, version: &str, value: Value| Body {
        service: "compute".to_owned(),
        operation: operation.to_owned(),
        version: Some(version.to_owned()),
        text: value.to_string(),
    };
    vec![
        body("list_flavors_detail", "2.75", json!({"flavors": flavors})),
        body("list_keypairs", "2.2", json!({"keypairs": [keypair]})),
    ]
}

/// Every service's operation table (the bundled ones and the image plugin's), by name.
fn operations() -> BTreeMap<&'static str, &'static ServiceTable> {
    squall::clients::TABLES
        .iter()
        .copied()
        .chain([&squall_plugin_image::image::TABLE])
        .map(|table| (table.service.name, table))
        .collect()
}

/// A verdict: accepted, or rejected with the first pointer and message.
type Verdict = Result<(), (String, String)>;

fn verdict(row: &OperationEntry, version: Microversion, text: &str, mode: Validation) -> Verdict {
    row.decode_body(version, text.to_owned().into(), mode)
        .map(drop)
        .map_err(|e| match e {
            Error::Validation {
                pointer, message, ..
            } => (pointer, message),
            other => ("(not a validation error)".to_owned(), other.to_string()),
        })
}

/// One mutation: its kind, and the body with it.
struct Mutation {
    kind: &'static str,
    body: Value,
}

/// The subschema of an object member, as Draft 4 picks it (properties, then a matching
/// patternProperty, then additionalProperties).
fn member_schema<'s>(schema: &'s Value, key: &str) -> Option<&'s Value> {
    if let Some(s) = schema.get("properties").and_then(|p| p.get(key)) {
        return Some(s);
    }
    if let Some(patterns) = schema.get("patternProperties").and_then(Value::as_object) {
        for (pattern, s) in patterns {
            if regex::Regex::new(pattern).is_ok_and(|re| re.is_match(key)) {
                return Some(s);
            }
        }
    }
    schema.get("additionalProperties").filter(|s| s.is_object())
}

/// Mutations of `value` (at `pointer` in `root`) that its `schema` should reject.
fn mutations(root: &Value, pointer: &str, value: &Value, schema: &Value, out: &mut Vec<Mutation>) {
    // `allOf` members (Nova's name format and pattern) count as the schema's own keywords.
    let mut merged = schema.clone();
    if let (Some(Value::Array(members)), Value::Object(own)) = (schema.get("allOf"), &mut merged) {
        for member in members.iter().filter_map(Value::as_object) {
            for (k, v) in member {
                own.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let schema = &merged;
    let mut with = |kind: &'static str, replacement: Value| {
        let mut body = root.clone();
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = replacement;
            out.push(Mutation { kind, body });
        }
    };
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let wrong = if types.contains(&"string") {
            json!(12345)
        } else {
            json!("squall-wrong-type")
        };
        with("wrong type", wrong);
    }
    match value {
        Value::String(text) => {
            if schema.get("pattern").is_some() {
                with("pattern violation", json!(format!("{text} /!\u{1}")));
            }
            if schema.get("format").is_some() {
                with("format violation", json!("squall: not of the format"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                let long = "x".repeat(usize::try_from(max).unwrap_or(0) + 1);
                with("bound violation", json!(long));
            }
            if schema
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > 0)
            {
                with("bound violation", json!(""));
            }
        }
        Value::Number(n) => {
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                let below = if n.is_f64() {
                    json!(min - 0.5)
                } else {
                    json!(min as i64 - 1)
                };
                with("bound violation", below);
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                let above = if n.is_f64() {
                    json!(max + 0.5)
                } else {
                    json!(max as i64 + 1)
                };
                with("bound violation", above);
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && let Some(first) = items.first()
            {
                let n = usize::try_from(max).unwrap_or(0) + 1;
                with("bound violation", Value::Array(vec![first.clone(); n]));
            }
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter().enumerate().take(2) {
                    mutations(root, &format!("{pointer}/{i}"), item, item_schema, out);
                }
            }
        }
        Value::Object(map) => {
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                let mut extended = map.clone();
                extended.insert("squall_unknown_field".to_owned(), json!(1));
                with("extra field", Value::Object(extended));
            }
            for (key, member) in map {
                if let Some(s) = member_schema(schema, key) {
                    let token = key.replace('~', "~0").replace('/', "~1");
                    mutations(root, &format!("{pointer}/{token}"), member, s, out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn strict_and_the_schema_agree_on_every_body_and_mutation() {
    let capture_dir = std::env::var_os("SQUALL_CAPTURE_DIR");
    let mut bodies = built();
    let built_count = bodies.len();
    if let Some(dir) = &capture_dir {
        bodies.extend(captured(Path::new(dir)));
    }
    let operations = operations();
    let mut disagreements = Vec::new();
    let (mut checked, mut valid) = (0usize, 0usize);
    let mut skipped = BTreeSet::new();
    let mut invalid = Vec::new();
    let mut rejected_by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accepted_mutations = 0usize;
    for body in &bodies {
        let Some(row) = operations
            .get(body.service.as_str())
            .and_then(|table| table.find(&body.operation))
        else {
            skipped.insert(format!("{}.{}", body.service, body.operation));
            continue;
        };
        let version = match &body.version {
            Some(v) => v.parse::<Microversion>().ok(),
            None => row.meta.variants.first().map(|v| v.span.min),
        };
        let (Some(version), Some(schema)) = (
            version,
            version
                .and_then(|v| row.meta.variant_for(v))
                .and_then(|i| row.meta.variants.get(i))
                .and_then(|v| v.body),
        ) else {
            skipped.insert(format!(
                "{}.{} at {:?}",
                body.service, body.operation, body.version
            ));
            continue;
        };
        let what = format!("{}.{} at {:?}", body.service, body.operation, body.version);
        checked += 1;
        let strict = verdict(row, version, &body.text, Validation::Strict);
        let cross = verdict(row, version, &body.text, Validation::CrossCheck);
        if strict.is_ok() != cross.is_ok() {
            disagreements.push(format!(
                "{what}: Strict {strict:?}, schema {cross:?}, body {}",
                body.text.chars().take(300).collect::<String>()
            ));
            continue;
        }
        if let Err((pointer, message)) = &strict {
            invalid.push(format!("{what}: {pointer:?} {message}"));
            continue;
        }
        valid += 1;
        let (Ok(root), Ok(schema)) = (
            serde_json::from_str::<Value>(&body.text),
            serde_json::from_str::<Value>(schema.json),
        ) else {
            continue;
        };
        let mut found = Vec::new();
        mutations(&root, "", &root, &schema, &mut found);
        for m in found {
            let text = m.body.to_string();
            let strict = verdict(row, version, &text, Validation::Strict);
            let cross = verdict(row, version, &text, Validation::CrossCheck);
            match (&strict, &cross) {
                (Ok(()), Ok(())) => accepted_mutations += 1,
                (Err((sp, _)), Err((cp, _))) if sp == cp => {
                    *rejected_by_kind.entry(m.kind).or_default() += 1;
                }
                // A new key in a map (Placement's maps keyed by resource class or provider):
                // JSON Schema names the map ("additional properties"), Strict the member whose
                // value has the wrong shape. The same violation, one level apart.
                (Err((sp, _)), Err((cp, cm)))
                    if m.kind == "extra field"
                        && cm.contains("Additional properties")
                        && sp.rsplit_once('/').is_some_and(|(parent, _)| parent == cp) =>
                {
                    *rejected_by_kind.entry("extra key in a map").or_default() += 1;
                }
                _ => disagreements.push(format!(
                    "{what}, {}: Strict {strict:?}, schema {cross:?}",
                    m.kind
                )),
            }
        }
    }
    println!(
        "{} bodies ({built_count} built here, the rest captured from {capture_dir:?}): \
         {checked} checked, {valid} valid; not typed here: {skipped:?}; mutations \
         rejected by both with the same pointer: {rejected_by_kind:?}; accepted by both: \
         {accepted_mutations}",
        bodies.len()
    );
    for body in &invalid {
        println!("rejected by both: {body}");
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(valid >= built_count, "the bodies built here are valid");
    for kind in [
        "extra field",
        "wrong type",
        "pattern violation",
        "format violation",
        "bound violation",
    ] {
        assert!(
            rejected_by_kind.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} mutation was made and rejected"
        );
    }
}
