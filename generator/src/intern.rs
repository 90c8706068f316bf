//! Structural interning: one Rust type per distinct schema, named after the first version that
//! has it. Named and object subschemas are hoisted into their own definitions, so identical
//! subtrees share a type across operations and versions.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::lower::{collapse_combinators, lower_node};
use crate::resolve::{Location, NAME_KEY};
use crate::version::Version;

/// One interned type.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The Rust type name (`KeypairV2_2`).
    pub name: String,
    /// The complete schema, every constraint kept, for validation.
    pub full: Value,
    /// The lowered schema typify sees, with hoisted children as `#/definitions/<Name>` refs.
    pub lowered: Value,
    /// Where the schema was first met.
    pub origin: Location,
    /// Definitions this one refers to.
    pub deps: BTreeSet<String>,
}

/// Interns the schemas of one service.
#[derive(Debug, Default)]
pub struct Interner {
    /// The definitions, in first-seen order.
    pub defs: Vec<TypeDef>,
    by_key: HashMap<String, usize>,
    names: HashSet<String>,
}

/// Converts `snake_case`, `kebab-case` or `mixed words` to PascalCase.
pub fn pascal(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    out
}

/// The schema without squall's annotations, with object keys sorted: the interning key.
fn canonical(value: &Value) -> String {
    fn walk(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().filter(|k| *k != NAME_KEY).collect();
                keys.sort();
                out.push('{');
                for key in keys {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    walk(&map[key], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    walk(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    walk(value, &mut out);
    out
}

/// Removes squall's annotations.
pub fn strip_names(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != NAME_KEY)
                .map(|(k, v)| (k.clone(), strip_names(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_names).collect()),
        other => other.clone(),
    }
}

fn should_hoist(node: &Value) -> bool {
    let Some(map) = node.as_object() else {
        return false;
    };
    let object_like = map.get("properties").is_some_and(Value::is_object)
        || map.get("type").and_then(Value::as_str) == Some("object");
    let named = map.contains_key(NAME_KEY);
    object_like || (named && map.contains_key("enum"))
}

impl Interner {
    /// Interns a top-level schema (a body, request or query) and returns its type name.
    pub fn intern(
        &mut self,
        schema: &Value,
        hint: &str,
        version: Version,
        origin: &Location,
    ) -> String {
        let key = canonical(schema);
        if let Some(&index) = self.by_key.get(&key) {
            return self.defs[index].name.clone();
        }
        let base = pascal(schema.get(NAME_KEY).and_then(Value::as_str).unwrap_or(hint));
        let mut name = format!("{base}{}", version.suffix());
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{base}{}_{n}", version.suffix());
            n += 1;
        }
        let index = self.defs.len();
        self.by_key.insert(key, index);
        self.names.insert(name.clone());
        self.defs.push(TypeDef {
            name: name.clone(),
            full: strip_names(schema),
            lowered: Value::Null,
            origin: origin.clone(),
            deps: BTreeSet::new(),
        });
        let mut deps = BTreeSet::new();
        let lowered = self.lower_children(schema, &base, version, origin, &mut deps);
        self.defs[index].lowered = lowered;
        self.defs[index].deps = deps;
        name
    }

    fn child(
        &mut self,
        node: &Value,
        hint: &str,
        version: Version,
        origin: &Location,
        deps: &mut BTreeSet<String>,
    ) -> Value {
        if should_hoist(node) {
            let name = self.intern(node, hint, version, origin);
            deps.insert(name.clone());
            return json!({"$ref": format!("#/definitions/{name}")});
        }
        self.lower_children(node, hint, version, origin, deps)
    }

    fn lower_children(
        &mut self,
        node: &Value,
        name: &str,
        version: Version,
        origin: &Location,
        deps: &mut BTreeSet<String>,
    ) -> Value {
        let Value::Object(map) = node else {
            return node.clone();
        };
        let mut out = Map::with_capacity(map.len());
        for (key, value) in map {
            let lowered = match (key.as_str(), value) {
                (k, _) if k == NAME_KEY => continue,
                ("properties" | "patternProperties", Value::Object(props)) => Value::Object(
                    props
                        .iter()
                        .map(|(prop, schema)| {
                            let hint = if key == "properties" {
                                format!("{name}{}", pascal(prop))
                            } else {
                                format!("{name}Value")
                            };
                            (
                                prop.clone(),
                                self.child(schema, &hint, version, origin, deps),
                            )
                        })
                        .collect(),
                ),
                ("items", Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            self.child(s, &format!("{name}Item{i}"), version, origin, deps)
                        })
                        .collect(),
                ),
                ("items" | "additionalProperties" | "not", schema @ Value::Object(_)) => {
                    let hint = if key == "items" {
                        format!("{name}Item")
                    } else {
                        format!("{name}Value")
                    };
                    self.child(schema, &hint, version, origin, deps)
                }
                ("allOf" | "oneOf" | "anyOf", Value::Array(members)) => Value::Array(
                    members
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            self.child(s, &format!("{name}Variant{i}"), version, origin, deps)
                        })
                        .collect(),
                ),
                _ => value.clone(),
            };
            out.insert(key.clone(), lowered);
        }
        lower_node(&mut out);
        collapse_combinators(&mut out);
        lower_node(&mut out);
        Value::Object(out)
    }

    /// The definitions `name` needs, itself included, transitively.
    pub fn closure(&self, name: &str) -> Vec<&TypeDef> {
        let by_name: HashMap<&str, &TypeDef> =
            self.defs.iter().map(|d| (d.name.as_str(), d)).collect();
        let mut seen = BTreeSet::new();
        let mut stack = vec![name.to_owned()];
        let mut out = Vec::new();
        while let Some(next) = stack.pop() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(def) = by_name.get(next.as_str()) {
                out.push(*def);
                stack.extend(def.deps.iter().cloned());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Location {
        Location {
            file: 0,
            pointer: String::new(),
        }
    }

    #[test]
    fn identical_subtrees_share_one_type_named_by_first_version() {
        let mut interner = Interner::default();
        let keypair = json!({"type": "object", "x-squall-name": "Keypair", "properties": {"name": {"type": "string"}}, "additionalProperties": false});
        let a = json!({"type": "object", "properties": {"keypair": keypair}});
        let b = json!({"type": "object", "properties": {"keypair": keypair, "extra": {"type": "integer"}}});
        let v21 = Version { major: 2, minor: 1 };
        let v22 = Version { major: 2, minor: 2 };
        let first = interner.intern(&a, "ShowResponse", v21, &loc());
        let second = interner.intern(&b, "ShowResponse", v22, &loc());
        let again = interner.intern(&a, "Other", v22, &loc());
        assert_eq!(first, "ShowResponseV2_1");
        assert_eq!(second, "ShowResponseV2_2");
        assert_eq!(again, first, "same structure, same type");
        let names: Vec<&str> = interner.defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["ShowResponseV2_1", "KeypairV2_1", "ShowResponseV2_2"]
        );
    }

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("list_keypairs"), "ListKeypairs");
        assert_eq!(pascal("os-extra_specs"), "OsExtraSpecs");
        assert_eq!(pascal("OS-FLV-EXT-DATA:ephemeral"), "OSFLVEXTDATAEphemeral");
    }
}
