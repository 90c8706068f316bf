//! Structural interning: one Rust type per distinct schema, named after the first version that
//! has it. Named and object subschemas are hoisted into their own definitions, so identical
//! subtrees share a type across operations and versions.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::lower::{collapse_combinators, lower_node};
use crate::resolve::NAME_KEY;
use crate::version::Version;

/// One interned type.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The Rust type name (`KeypairV2_2`).
    pub name: String,
    /// The role the type was first met in: the schema's own name, or the place it was found
    /// (`Keypair`, `ListKeypairsQuery`), without a version.
    pub role: String,
    /// The first schema met with this structure, every constraint kept.
    pub full: Value,
    /// The lowered schema the types are built from, with hoisted children as
    /// `#/definitions/<Name>` refs.
    pub lowered: Value,
}

/// Another name for an interned type: the same structure met in another role.
#[derive(Debug, Clone)]
pub struct Alias {
    /// The alias (`KeypairsQueryV2_1`).
    pub name: String,
    /// The type it names (`FlavorAccessQueryV2_1`).
    pub target: String,
}

/// Interns the schemas of one service.
#[derive(Debug, Default)]
pub struct Interner {
    /// The definitions, in first-seen order.
    pub defs: Vec<TypeDef>,
    /// Role names of shared structures.
    pub aliases: Vec<Alias>,
    by_key: HashMap<String, usize>,
    by_alias: HashMap<(String, usize), String>,
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

/// Keywords that document a schema without shaping its type.
const DOC_KEYS: &[&str] = &["description", "title", "$comment", "examples", NAME_KEY];

/// The lowered schema without documentation, with object keys sorted: the interning key, so
/// that schemas that make the same Rust type share it.
fn canonical(value: &Value) -> String {
    /// `names` is true for a map of names to schemas (`properties`), whose keys are data.
    fn walk(value: &Value, names: bool, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map
                    .keys()
                    .filter(|k| names || !DOC_KEYS.contains(&k.as_str()))
                    .collect();
                keys.sort();
                out.push('{');
                for key in keys {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    let child_names = !names
                        && matches!(
                            key.as_str(),
                            "properties" | "patternProperties" | "definitions"
                        );
                    // Order does not matter in `required` and `type` lists.
                    match (
                        &map[key],
                        names || !matches!(key.as_str(), "required" | "type"),
                    ) {
                        (Value::Array(items), false) => {
                            let mut sorted: Vec<String> =
                                items.iter().map(Value::to_string).collect();
                            sorted.sort();
                            out.push_str(&format!("[{}]", sorted.join(",")));
                        }
                        (child, _) => walk(child, child_names, out),
                    }
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    walk(item, false, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    walk(value, false, &mut out);
    out
}

/// Lowers a schema and its subschemas without hoisting anything.
fn lower_inline(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (key, child) in map {
        let lowered = match (key.as_str(), child) {
            (k, _) if k == NAME_KEY => continue,
            // A map of names to schemas: the names are data, the values schemas.
            ("properties" | "patternProperties" | "definitions", Value::Object(named)) => {
                Value::Object(
                    named
                        .iter()
                        .map(|(n, s)| (n.clone(), lower_inline(s)))
                        .collect(),
                )
            }
            (_, Value::Array(items)) => Value::Array(items.iter().map(lower_inline).collect()),
            (_, Value::Object(_)) => lower_inline(child),
            _ => child.clone(),
        };
        out.insert(key.clone(), lowered);
    }
    lower_node(&mut out);
    collapse_combinators(&mut out);
    lower_node(&mut out);
    Value::Object(out)
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
    let string_enum = map
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| values.iter().all(|v| v.is_string() || v.is_null()));
    object_like || string_enum
}

impl Interner {
    /// Interns a schema and returns its type name. The structure decides the type: the
    /// same structure met again is the same type, and met under another schema name it gets
    /// an alias with that name.
    pub fn intern(&mut self, schema: &Value, hint: &str, version: Version) -> String {
        let named = schema.get(NAME_KEY).and_then(Value::as_str);
        let role = pascal(named.unwrap_or(hint));
        let lowered = self.lower_children(schema, &role, version);
        // The whole schema counts, constraints included: the typed decode checks them, so
        // schemas that differ only in a pattern or a bound are different types.
        let key = format!(
            "{}|{}",
            canonical(&lowered),
            canonical(&strip_names(schema))
        );
        if let Some(&index) = self.by_key.get(&key) {
            if named.is_some() && self.defs[index].role != role {
                return self.alias(&role, version, index);
            }
            return self.defs[index].name.clone();
        }
        let name = self.fresh_name(&role, version);
        self.by_key.insert(key, self.defs.len());
        self.defs.push(TypeDef {
            name: name.clone(),
            role,
            full: strip_names(schema),
            lowered,
        });
        name
    }

    /// Interns an operation's query, request or response schema. Its role is the schema's own
    /// name or, for an unnamed one, `role` (the operation's): a structure shared with another
    /// role gets an alias named after this one.
    pub fn intern_role(&mut self, schema: &Value, role: &str, version: Version) -> String {
        let name = self.intern(schema, role, version);
        let Some(index) = self.defs.iter().position(|d| d.name == name) else {
            return name;
        };
        let own = schema.get(NAME_KEY).and_then(Value::as_str).map(pascal);
        let role = own.unwrap_or_else(|| pascal(role));
        if self.defs[index].role == role {
            name
        } else {
            self.alias(&role, version, index)
        }
    }

    /// The definition a name (or alias) stands for.
    pub fn resolve(&self, name: &str) -> Option<&TypeDef> {
        let target = self
            .aliases
            .iter()
            .find(|a| a.name == name)
            .map_or(name, |a| a.target.as_str());
        self.defs.iter().find(|d| d.name == target)
    }

    fn fresh_name(&mut self, role: &str, version: Version) -> String {
        let mut name = format!("{role}{}", version.suffix());
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{role}{}_{n}", version.suffix());
            n += 1;
        }
        self.names.insert(name.clone());
        name
    }

    fn alias(&mut self, role: &str, version: Version, index: usize) -> String {
        if let Some(name) = self.by_alias.get(&(role.to_owned(), index)) {
            return name.clone();
        }
        let name = self.fresh_name(role, version);
        self.by_alias.insert((role.to_owned(), index), name.clone());
        self.aliases.push(Alias {
            name: name.clone(),
            target: self.defs[index].name.clone(),
        });
        name
    }

    fn child(&mut self, node: &Value, hint: &str, version: Version) -> Value {
        if should_hoist(node) {
            let name = self.intern(node, hint, version);
            return json!({"$ref": format!("#/definitions/{name}")});
        }
        self.lower_children(node, hint, version)
    }

    fn lower_children(&mut self, node: &Value, name: &str, version: Version) -> Value {
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
                            (prop.clone(), self.child(schema, &hint, version))
                        })
                        .collect(),
                ),
                ("items", Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, s)| self.child(s, &format!("{name}Item{i}"), version))
                        .collect(),
                ),
                ("items" | "additionalProperties" | "not", schema @ Value::Object(_)) => {
                    let hint = if key == "items" {
                        format!("{name}Item")
                    } else {
                        format!("{name}Value")
                    };
                    self.child(schema, &hint, version)
                }
                // Members of a combinator are lowered in place, not hoisted: what stays a
                // combinator after lowering is a `Value` in Rust (checked by the schema), so
                // types for its members would never be used.
                ("allOf" | "oneOf" | "anyOf", Value::Array(members)) => {
                    Value::Array(members.iter().map(lower_inline).collect())
                }
                _ => value.clone(),
            };
            out.insert(key.clone(), lowered);
        }
        lower_node(&mut out);
        collapse_combinators(&mut out);
        lower_node(&mut out);
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_subtrees_share_one_type_named_by_first_version() {
        let mut interner = Interner::default();
        let keypair = json!({"type": "object", "x-squall-name": "Keypair", "properties": {"name": {"type": "string"}}, "additionalProperties": false});
        let a = json!({"type": "object", "properties": {"keypair": keypair}});
        let b = json!({"type": "object", "properties": {"keypair": keypair, "extra": {"type": "integer"}}});
        let v21 = Version { major: 2, minor: 1 };
        let v22 = Version { major: 2, minor: 2 };
        let first = interner.intern(&a, "ShowResponse", v21);
        let second = interner.intern(&b, "ShowResponse", v22);
        let again = interner.intern(&a, "Other", v22);
        assert_eq!(first, "ShowResponseV2_1");
        assert_eq!(second, "ShowResponseV2_2");
        assert_eq!(again, first, "same structure, same type");
        let names: Vec<&str> = interner.defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["KeypairV2_1", "ShowResponseV2_1", "ShowResponseV2_2"]
        );
    }

    #[test]
    fn a_structure_met_in_another_role_gets_an_alias_named_for_that_role() {
        let mut interner = Interner::default();
        let v21 = Version { major: 2, minor: 1 };
        let query = |name: &str| json!({"type": "object", "x-squall-name": name, "properties": {}});
        let first = interner.intern_role(&query("FlavorAccessQuery"), "ListFlavorAccessQuery", v21);
        let second = interner.intern_role(&query("KeypairsQuery"), "ListKeypairsQuery", v21);
        assert_eq!(first, "FlavorAccessQueryV2_1");
        assert_eq!(second, "KeypairsQueryV2_1");
        assert_eq!(interner.defs.len(), 1, "one type for one structure");
        assert_eq!(
            interner.resolve(&second).map(|d| d.name.as_str()),
            Some("FlavorAccessQueryV2_1")
        );
    }

    #[test]
    fn descriptions_do_not_split_types_but_a_field_named_description_does() {
        let mut interner = Interner::default();
        let v21 = Version { major: 2, minor: 1 };
        let a = json!({"type": "object", "description": "one", "properties": {"id": {"type": "string"}}});
        let b = json!({"type": "object", "description": "two", "properties": {"id": {"type": "string", "description": "x"}}});
        let c = json!({"type": "object", "properties": {"id": {"type": "string"}, "description": {"type": "string"}}});
        let (a, b, c) = (
            interner.intern(&a, "Thing", v21),
            interner.intern(&b, "Thing", v21),
            interner.intern(&c, "Thing", v21),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("list_keypairs"), "ListKeypairs");
        assert_eq!(pascal("os-extra_specs"), "OsExtraSpecs");
        assert_eq!(pascal("OS-FLV-EXT-DATA:ephemeral"), "OSFLVEXTDATAEphemeral");
    }
}
