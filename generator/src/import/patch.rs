//! Minimal JSON Patch between two documents, and a small pointer-based apply for overlays.

use serde_json::{Map, Value};

use crate::source::escape;

/// One patch operation, as written to a change file.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Add `value` at `path` (`/-` appends to an array).
    Add(String, Value),
    /// Replace the value at `path`.
    Replace(String, Value),
    /// Remove the value at `path`.
    Remove(String),
}

impl Edit {
    /// The pointer it edits.
    pub fn path(&self) -> &str {
        match self {
            Self::Add(p, _) | Self::Replace(p, _) | Self::Remove(p) => p,
        }
    }

    /// As a change-file entry.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let (op, path, value) = match self {
            Self::Add(p, v) => ("add", p, Some(v)),
            Self::Replace(p, v) => ("replace", p, Some(v)),
            Self::Remove(p) => ("remove", p, None),
        };
        map.insert("op".into(), Value::String(op.into()));
        map.insert("path".into(), Value::String(path.clone()));
        if let Some(v) = value {
            map.insert("value".into(), v.clone());
        }
        Value::Object(map)
    }
}

/// The smallest patch (in this simple sense) that turns `old` into `new`: objects are compared
/// member by member, arrays that only grow at the end get appends, anything else is replaced.
pub fn diff(old: &Value, new: &Value) -> Vec<Edit> {
    let mut out = Vec::new();
    diff_at(old, new, "", &mut out);
    out
}

fn diff_at(old: &Value, new: &Value, path: &str, out: &mut Vec<Edit>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys() {
                if !b.contains_key(key) {
                    out.push(Edit::Remove(format!("{path}/{}", escape(key))));
                }
            }
            for (key, value) in b {
                let at = format!("{path}/{}", escape(key));
                match a.get(key) {
                    Some(before) => diff_at(before, value, &at, out),
                    None => out.push(Edit::Add(at, value.clone())),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if b.len() > a.len() && b[..a.len()] == a[..] => {
            for item in &b[a.len()..] {
                out.push(Edit::Add(format!("{path}/-"), item.clone()));
            }
        }
        _ => out.push(Edit::Replace(path.to_owned(), new.clone())),
    }
}

fn segments(path: &str) -> Result<Vec<String>, String> {
    crate::patch::pointer_segments(path)
}

fn navigate<'v>(doc: &'v mut Value, segments: &[String]) -> Option<&'v mut Value> {
    let mut current = doc;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get_mut(segment)?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Applies one edit; `Err` says why it does not fit the document.
pub fn apply(doc: &mut Value, edit: &Edit) -> Result<(), String> {
    let mut segs = segments(edit.path())?;
    let Some(last) = segs.pop() else {
        return match edit {
            Edit::Replace(_, v) => {
                *doc = v.clone();
                Ok(())
            }
            _ => Err("the whole schema can only be replaced".into()),
        };
    };
    let parent = navigate(doc, &segs).ok_or_else(|| format!("no such location {}", edit.path()))?;
    match (edit, parent) {
        (Edit::Add(_, v), Value::Object(map)) => {
            map.insert(last, v.clone());
        }
        (Edit::Add(_, v), Value::Array(items)) => {
            let at = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| format!("no such location {}", edit.path()))?
            };
            items.insert(at, v.clone());
        }
        (Edit::Replace(_, v), parent) => {
            let slot = navigate(parent, std::slice::from_ref(&last))
                .ok_or_else(|| format!("no such location {}", edit.path()))?;
            *slot = v.clone();
        }
        (Edit::Remove(_), Value::Object(map)) => {
            map.shift_remove(&last)
                .ok_or_else(|| format!("no such location {}", edit.path()))?;
        }
        (Edit::Remove(_), Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
            }
            _ => return Err(format!("no such location {}", edit.path())),
        },
        _ => return Err(format!("no such location {}", edit.path())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_is_minimal_and_applies() {
        let old = json!({"a": {"x": 1, "y": [1, 2]}, "gone": true});
        let new = json!({"a": {"x": 2, "y": [1, 2, 3], "z": "new"}});
        let edits = diff(&old, &new);
        assert_eq!(
            edits,
            vec![
                Edit::Remove("/gone".into()),
                Edit::Replace("/a/x".into(), json!(2)),
                Edit::Add("/a/y/-".into(), json!(3)),
                Edit::Add("/a/z".into(), json!("new")),
            ]
        );
        let mut doc = old.clone();
        for e in &edits {
            apply(&mut doc, e).unwrap();
        }
        assert_eq!(doc, new);
    }

    #[test]
    fn escaped_keys() {
        let edits = diff(&json!({}), &json!({"a/b": 1}));
        assert_eq!(edits, vec![Edit::Add("/a~1b".into(), json!(1))]);
    }
}
