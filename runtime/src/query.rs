//! Typed query parameters to `key=value` pairs.

use serde::Serialize;
use serde_json::Value;

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Flattens a typed query into pairs: absent (null) fields are skipped and arrays become
/// repeated keys, as OpenStack services expect (`?required=A&required=B`).
pub fn to_pairs<Q: Serialize>(query: &Q) -> Result<Vec<(String, String)>, String> {
    let value = serde_json::to_value(query).map_err(|e| e.to_string())?;
    let Value::Object(map) = value else {
        return Err(format!("a query must serialize to an object, not {value}"));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in &items {
                    let text = scalar(item)
                        .ok_or_else(|| format!("query parameter {key}: unsupported item {item}"))?;
                    pairs.push((key.clone(), text));
                }
            }
            other => {
                let text = scalar(&other)
                    .ok_or_else(|| format!("query parameter {key}: unsupported value {other}"))?;
                pairs.push((key, text));
            }
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_repeat_and_nulls_vanish() {
        let pairs =
            to_pairs(&json!({"limit": 2, "marker": null, "required": ["A", "B"], "x": true}))
                .unwrap();
        let expected = [
            ("limit", "2"),
            ("required", "A"),
            ("required", "B"),
            ("x", "true"),
        ];
        assert_eq!(
            pairs,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
        assert!(to_pairs(&json!([1])).is_err());
    }
}
