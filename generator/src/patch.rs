//! JSON Patch (`add`, `replace`, `remove`) on a group document, with JSON pointers split and
//! joined the way the diagnostics print them.

use serde_json::Value;

use crate::source::escape;

pub(crate) fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Err("the whole document cannot be patched".to_owned());
    }
    pointer_segments(path)
}

/// The unescaped segments of a JSON pointer; the empty pointer (the root) has none.
pub(crate) fn pointer_segments(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("{path:?} is not a JSON pointer"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

pub(crate) fn navigate<'v>(
    doc: &'v mut Value,
    segments: &[String],
    path: &str,
) -> Result<&'v mut Value, String> {
    let mut current = doc;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get_mut(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("no such location {path}"))?;
    }
    Ok(current)
}

pub(crate) fn join(segments: &[String]) -> String {
    segments.iter().map(|s| format!("/{}", escape(s))).collect()
}

pub(crate) fn patch_add(doc: &mut Value, path: &str, value: Value) -> Result<String, String> {
    let mut segments = split_pointer(path)?;
    let last = segments.pop().unwrap_or_default();
    let parent = navigate(doc, &segments, path)?;
    let placed = match parent {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            last
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| format!("no such location {path}"))?
            };
            items.insert(index, value);
            index.to_string()
        }
        _ => {
            return Err(format!(
                "no such location {path}: the parent is not an object or array"
            ));
        }
    };
    segments.push(placed);
    Ok(join(&segments))
}

pub(crate) fn patch_replace(doc: &mut Value, path: &str, value: Value) -> Result<String, String> {
    let segments = split_pointer(path)?;
    *navigate(doc, &segments, path)? = value;
    Ok(join(&segments))
}

pub(crate) fn patch_remove(doc: &mut Value, path: &str) -> Result<String, String> {
    let mut segments = split_pointer(path)?;
    let last = segments.pop().unwrap_or_default();
    let parent = navigate(doc, &segments, path)?;
    let removed = match parent {
        Value::Object(map) => map.shift_remove(&last).is_some(),
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if removed {
        segments.push(last);
        Ok(join(&segments))
    } else {
        Err(format!("no such location {path}"))
    }
}
