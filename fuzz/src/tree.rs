//! Structural mutations of a JSON tree (a YAML spec or a JSON body, parsed): remove a node,
//! change a value's type, copy one node over another, add an unknown member, duplicate an array
//! item, bend a string. They keep the input well-formed, so the run reaches the checks behind
//! the parser.

use serde_json::{Map, Value};

/// Every node's JSON pointer (at most 4096), root first.
fn pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((pointer, node)) = stack.pop() {
        if out.len() >= 4096 {
            break;
        }
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    stack.push((format!("{pointer}/{key}"), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    stack.push((format!("{pointer}/{i}"), child));
                }
            }
            _ => {}
        }
        out.push(pointer);
    }
    out
}

fn parent_and_key(pointer: &str) -> Option<(&str, String)> {
    let cut = pointer.rfind('/')?;
    let key = pointer[cut + 1..].replace("~1", "/").replace("~0", "~");
    Some((&pointer[..cut], key))
}

fn odd_value() -> Value {
    match fastrand::u8(0..12) {
        0 => Value::Null,
        1 => Value::Bool(fastrand::bool()),
        2 => Value::from(0),
        3 => Value::from(-1),
        4 => Value::from(1.5),
        5 => Value::from(u64::MAX),
        6 => Value::String(String::new()),
        7 => Value::String("x".repeat(fastrand::usize(1..300))),
        8 => Value::Array(Vec::new()),
        9 => Value::Object(Map::new()),
        10 => Value::String("2.1".to_owned()),
        _ => Value::String("#/schemas/Missing".to_owned()),
    }
}

fn bend(text: &str) -> String {
    match fastrand::u8(0..7) {
        0 => String::new(),
        1 => format!("{text}{text}"),
        2 => text.chars().rev().collect(),
        3 => text.to_uppercase(),
        4 => format!("{text}\u{0}\u{202e}é"),
        5 => text.replace('.', ".0"),
        _ => text.chars().take(text.chars().count() / 2).collect(),
    }
}

/// Applies one structural mutation to `root`.
pub fn mutate(root: &mut Value) {
    let all = pointers(root);
    let pick = |list: &[String]| list[fastrand::usize(0..list.len())].clone();
    let target = pick(&all);
    match fastrand::u8(0..7) {
        0 => {
            // Remove the node.
            if let Some((parent, key)) = parent_and_key(&target) {
                match root.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        1 => {
            if let Some(node) = root.pointer_mut(&target) {
                *node = odd_value();
            }
        }
        2 => {
            // Copy another node over this one.
            let source = pick(&all);
            if let Some(copy) = root.pointer(&source).cloned()
                && let Some(node) = root.pointer_mut(&target)
            {
                *node = copy;
            }
        }
        3 => {
            // An unknown member.
            let objects: Vec<String> = all
                .iter()
                .filter(|p| root.pointer(p).is_some_and(Value::is_object))
                .cloned()
                .collect();
            if !objects.is_empty()
                && let Some(Value::Object(map)) = root.pointer_mut(&pick(&objects))
            {
                map.insert("squall_fuzz".to_owned(), odd_value());
            }
        }
        4 => {
            // Duplicate an array item (or the whole content of an object's member).
            if let Some(Value::Array(items)) = root.pointer_mut(&target)
                && let Some(first) = items.first().cloned()
            {
                items.push(first);
            }
        }
        5 => {
            if let Some(Value::String(text)) = root.pointer_mut(&target) {
                *text = bend(text);
            } else if let Some(node) = root.pointer_mut(&target)
                && let Some(n) = node.as_i64()
            {
                *node = Value::from(n.wrapping_neg().wrapping_sub(1));
            }
        }
        _ => {
            // Wrap the node in an array or object.
            if let Some(node) = root.pointer_mut(&target) {
                let inner = node.take();
                *node = if fastrand::bool() {
                    Value::Array(vec![inner])
                } else {
                    let mut map = Map::new();
                    map.insert("value".to_owned(), inner);
                    Value::Object(map)
                };
            }
        }
    }
}
