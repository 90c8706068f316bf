//! Lowering: rewriting Nova's schema idioms into the shapes the generated types model.
//!
//! Lowering only shapes the Rust types. The embedded validation schemas keep every constraint
//! (patterns, lengths, formats, bounds), so nothing is lost: the runtime still checks them.

use serde_json::{Map, Value};

/// Keywords that constrain values but do not change the Rust type.
const VALUE_CONSTRAINTS: &[&str] = &[
    "pattern",
    "minLength",
    "maxLength",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "examples",
    "$schema",
    "readOnly",
];

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Lowers one schema node (not its children) in place. Children are lowered by the caller,
/// which hoists named objects as it goes.
pub fn lower_node(map: &mut Map<String, Value>) {
    for key in VALUE_CONSTRAINTS {
        map.remove(*key);
    }
    // `const` pins a value; the type is the value's type.
    if let Some(constant) = map.remove("const")
        && !map.contains_key("type")
    {
        map.insert("type".into(), Value::String(json_type(&constant).into()));
    }
    // An enum mixing JSON types (Nova's boolean-or-string parameters) becomes its types.
    if let Some(Value::Array(members)) = map.get("enum") {
        let mut types: Vec<&str> = members.iter().map(json_type).collect();
        types.sort_unstable();
        types.dedup();
        let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
        if non_null.len() > 1 || non_null.iter().any(|t| *t != "string") {
            map.remove("enum");
            let types: Vec<Value> = types.into_iter().map(|t| Value::String(t.into())).collect();
            map.insert(
                "type".into(),
                if types.len() == 1 {
                    types[0].clone()
                } else {
                    Value::Array(types)
                },
            );
        }
    }
    // patternProperties: the Rust type is a map of the pattern's value schema.
    if let Some(Value::Object(patterns)) = map.remove("patternProperties") {
        let mut values: Vec<Value> = patterns.into_iter().map(|(_, v)| v).collect();
        values.dedup();
        let value_schema = if values.len() == 1 {
            values.remove(0)
        } else {
            Value::Object(Map::new())
        };
        map.insert("additionalProperties".into(), value_schema);
    }
}

/// Collapses `allOf`/`oneOf`/`anyOf` whose members no longer differ once constraints are gone
/// (Nova's `oneOf` of IP formats, `allOf` of a name format and a pattern).
pub fn collapse_combinators(map: &mut Map<String, Value>) {
    if let Some(Value::Array(members)) = map.get("allOf") {
        let scalar = members
            .iter()
            .all(|m| m.get("properties").is_none() && m.get("allOf").is_none());
        if scalar {
            let members = members.clone();
            map.remove("allOf");
            for member in members {
                if let Value::Object(m) = member {
                    for (k, v) in m {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = map.get(key) {
            let first = members.first().cloned();
            if first.is_some() && members.iter().all(|m| Some(m) == first.as_ref()) {
                map.remove(key);
                if let Some(Value::Object(m)) = first {
                    for (k, v) in m {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lowered(mut v: Value) -> Value {
        if let Value::Object(m) = &mut v {
            lower_node(m);
            if let Some(Value::Array(items)) = m.get_mut("oneOf") {
                for item in items {
                    if let Value::Object(im) = item {
                        lower_node(im);
                    }
                }
            }
            collapse_combinators(m);
            lower_node(m);
        }
        v
    }

    #[test]
    fn ip_format_one_of_becomes_a_string() {
        let v = json!({"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]});
        assert_eq!(lowered(v), json!({"type": "string"}));
    }

    #[test]
    fn boolean_or_string_enum_becomes_its_types() {
        let v = json!({"type": ["boolean", "string"], "enum": [true, "True", "1", false, "off"]});
        assert_eq!(lowered(v), json!({"type": ["boolean", "string"]}));
        let strings = json!({"type": "string", "enum": ["ssh", "x509"]});
        assert_eq!(lowered(strings.clone()), strings);
    }

    #[test]
    fn const_becomes_its_type() {
        assert_eq!(lowered(json!({"const": "next"})), json!({"type": "string"}));
        assert_eq!(
            lowered(json!({"type": "boolean", "const": false})),
            json!({"type": "boolean"})
        );
    }

    #[test]
    fn scalar_all_of_merges() {
        let v = json!({"allOf": [{"type": "string", "format": "name"}, {"type": "string", "pattern": "x"}]});
        assert_eq!(lowered(v), json!({"type": "string"}));
    }
}
