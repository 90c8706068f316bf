//! `squall openapi <service> <version>`: one microversion of a service as an OpenAPI 3.1
//! document, built from the resolved specs (every operation that exists at the version, its
//! path and query parameters, request body, success statuses with their body schemas and
//! expected error statuses).
//!
//! The specs write JSON Schema draft 4; OpenAPI 3.1 uses draft 2020-12. The only keywords
//! that differ in the specs are the boolean `exclusiveMinimum`/`exclusiveMaximum`, which
//! [`to_2020_12`] turns into numbers and [`to_draft4`] turns back.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use squall_gen::resolve::{Facets, Service, load_service};
use squall_gen::version::Version;

use crate::CliError;

/// Loads `service` from `specs` and renders its OpenAPI document at `version`.
pub fn document(specs: &Path, service: &str, version: &str) -> Result<Value, CliError> {
    let loaded = load_service(&specs.join(service))
        .map_err(|e| CliError::Io(format!("{}: {e}", specs.join(service).display())))?;
    let at = parse(&loaded, version)?;
    Ok(render(&loaded, at))
}

/// Parses `version` (`latest` is the service's newest) and checks the service has it.
pub fn parse(service: &Service, version: &str) -> Result<Version, CliError> {
    let at = if version == "latest" {
        service.max
    } else {
        Version::parse(version)
            .ok_or_else(|| CliError::Usage(format!("bad microversion {version:?}")))?
    };
    if at < service.min || at > service.max {
        return Err(CliError::Usage(format!(
            "{} describes {}–{}, not {at}",
            service.def.service, service.min, service.max
        )));
    }
    Ok(at)
}

/// Every operation of `service` at `at`: (group, operation name, facets).
pub fn operations_at(service: &Service, at: Version) -> Vec<(&str, &str, &Facets)> {
    service
        .groups
        .values()
        .flat_map(|g| {
            g.operations.values().filter_map(move |op| {
                let span = op.spans.iter().find(|s| s.span.contains(at))?;
                Some((g.name.as_str(), op.name.as_str(), &span.facets))
            })
        })
        .collect()
}

/// One operation sharing a route: (group, operation name, facets).
type Shared<'s> = (&'s str, &'s str, &'s Facets);

/// The document of `service` at `at`.
pub fn render(service: &Service, at: Version) -> Value {
    let def = &service.def;
    let mut schemas = Map::new();
    // (path, method) -> the operations sharing it (Nova's server actions share one).
    let mut routes: BTreeMap<(String, String), Vec<Shared<'_>>> = BTreeMap::new();
    for (group, name, facets) in operations_at(service, at) {
        routes
            .entry((facets.path.clone(), facets.method.as_str().to_lowercase()))
            .or_default()
            .push((group, name, facets));
    }
    let mut paths = Map::new();
    for ((path, method), ops) in &routes {
        let operation = operation(def.service.as_str(), at, ops, &mut schemas);
        let item = paths
            .entry(path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(method.clone(), operation);
        }
    }
    let header = def
        .microversion_headers
        .request
        .first()
        .map(|h| h.name.clone());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} API", def.service),
            "version": at.to_string(),
            "summary": def.summary.clone().unwrap_or_default(),
            "description": format!(
                "The {} API at microversion {at}, from squall's specs (catalog type `{}`). \
                 Requests carry the version in {}.",
                def.service,
                def.catalog_type,
                header.map_or_else(|| "no header".to_owned(), |h| format!("`{h}`"))
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn operation(
    service: &str,
    at: Version,
    ops: &[(&str, &str, &Facets)],
    schemas: &mut Map<String, Value>,
) -> Value {
    let names: Vec<&str> = ops.iter().map(|(_, n, _)| *n).collect();
    let (group, _, first) = ops[0];
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(names.join("|")));
    operation.insert("tags".into(), json!([group]));
    let summaries: Vec<String> = ops
        .iter()
        .filter_map(|(_, n, f)| f.summary.as_ref().map(|s| format!("{n}: {s}")))
        .collect();
    if !summaries.is_empty() {
        operation.insert("summary".into(), json!(summaries.join("; ")));
    }
    if names.len() > 1 {
        operation.insert("x-squall-operations".into(), json!(names));
    }
    operation.insert(
        "parameters".into(),
        Value::Array(parameters(service, at, first, ops)),
    );
    let requests: Vec<Value> = ops
        .iter()
        .filter_map(|(_, name, f)| {
            let schema = f.request.as_ref()?;
            Some(component(schemas, format!("{name}_request"), schema))
        })
        .collect();
    if !requests.is_empty() {
        let schema = one_of(requests);
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
    }
    let mut responses = Map::new();
    let mut bodies: BTreeMap<u16, Vec<Value>> = BTreeMap::new();
    for (_, name, f) in ops {
        for status in &f.statuses {
            let entry = bodies.entry(*status).or_default();
            if let Some(body) = &f.body {
                let schema = component(schemas, format!("{name}_response"), body);
                if !entry.contains(&schema) {
                    entry.push(schema);
                }
            }
        }
    }
    for (status, schemas) in bodies {
        let mut response = Map::new();
        response.insert("description".into(), json!("Success."));
        if !schemas.is_empty() {
            response.insert(
                "content".into(),
                json!({"application/json": {"schema": one_of(schemas)}}),
            );
        }
        responses.insert(status.to_string(), Value::Object(response));
    }
    for (_, _, f) in ops {
        for status in &f.errors {
            responses
                .entry(status.to_string())
                .or_insert_with(|| json!({"description": "An expected error."}));
        }
    }
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

fn one_of(mut schemas: Vec<Value>) -> Value {
    if schemas.len() == 1 {
        schemas.remove(0)
    } else {
        json!({"oneOf": schemas})
    }
}

/// Stores `schema` (converted to 2020-12) as a component and returns a reference to it.
fn component(schemas: &mut Map<String, Value>, name: String, schema: &Value) -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{name}")});
    schemas.insert(name, to_2020_12(schema));
    reference
}

fn parameters(
    service: &str,
    at: Version,
    first: &Facets,
    ops: &[(&str, &str, &Facets)],
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = first.path.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        out.push(
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
        );
        rest = &rest[open + close + 1..];
    }
    let mut seen = Vec::new();
    for (_, _, f) in ops {
        let Some(query) = &f.query else { continue };
        let required: Vec<&str> = query
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = query.get("properties").and_then(Value::as_object) {
            for (name, schema) in properties {
                if seen.contains(name) {
                    continue;
                }
                seen.push(name.clone());
                out.push(json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": to_2020_12(schema),
                }));
            }
        }
    }
    if first.versioned {
        out.push(json!({
            "name": "OpenStack-API-Version",
            "in": "header",
            "required": false,
            "schema": {"type": "string", "const": format!("{service} {at}")},
        }));
    }
    out
}

/// Draft 4 to 2020-12: a boolean `exclusiveMinimum`/`exclusiveMaximum` becomes the number
/// it excludes.
pub fn to_2020_12(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                out.insert(key.clone(), to_2020_12(value));
            }
            for (exclusive, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                match out.get(exclusive) {
                    Some(Value::Bool(true)) => {
                        if let Some(limit) = out.remove(bound) {
                            out.insert(exclusive.to_owned(), limit);
                        } else {
                            out.remove(exclusive);
                        }
                    }
                    Some(Value::Bool(false)) => {
                        out.remove(exclusive);
                    }
                    _ => {}
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_2020_12).collect()),
        other => other.clone(),
    }
}

/// 2020-12 back to draft 4: a numeric `exclusiveMinimum`/`exclusiveMaximum` becomes the bound
/// plus `true`. The inverse of [`to_2020_12`] on the specs' schemas.
pub fn to_draft4(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                out.insert(key.clone(), to_draft4(value));
            }
            for (exclusive, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(limit) = out.get(exclusive).filter(|v| v.is_number()).cloned() {
                    out.insert(bound.to_owned(), limit);
                    out.insert(exclusive.to_owned(), Value::Bool(true));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_draft4).collect()),
        other => other.clone(),
    }
}
