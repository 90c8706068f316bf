//! A one-line summary of a change file, generated from its patch:
//! "show_server: response adds `server.locked_reason`; lock_server: request adds `locked_reason`".

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;
use serde_json::Value;

use super::patch::Edit;

const MAX_LEN: usize = 400;

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// Field path inside a schema from the pointer segments after the schema name, and what the
/// last segment is about.
fn field(segments: &[String]) -> (String, Option<String>) {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    let mut tail = None;
    while i < segments.len() {
        match segments[i].as_str() {
            "properties" | "patternProperties" if i + 1 < segments.len() => {
                parts.push(segments[i + 1].clone());
                i += 2;
                continue;
            }
            "items" => {
                if let Some(last) = parts.last_mut() {
                    last.push_str("[]");
                }
            }
            "additionalProperties" => parts.push("*".into()),
            "oneOf" | "anyOf" | "allOf" => {
                i += 2;
                continue;
            }
            other => {
                tail = Some(other.to_owned());
                break;
            }
        }
        i += 1;
    }
    (parts.join("."), tail)
}

/// Describes `edits` on a group document.
pub fn describe(before: &Value, edits: &[Edit]) -> String {
    // Schema name -> (operation, facet word).
    let mut owners: BTreeMap<String, (String, &str)> = BTreeMap::new();
    let mut op_names: Vec<String> = before
        .get("operations")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for e in edits {
        if let Some(rest) = e.path().strip_prefix("/operations/") {
            op_names.push(unescape(rest.split('/').next().unwrap_or_default()));
        }
    }
    for op in &op_names {
        let base = op.to_upper_camel_case();
        for (suffix, word) in [
            ("Query", "query"),
            ("Request", "request"),
            ("Response", "response"),
        ] {
            owners.insert(format!("{base}{suffix}"), (op.clone(), word));
        }
    }
    let mut added_ops = Vec::new();
    let mut removed_ops = Vec::new();
    // operation -> phrases, in first-seen order.
    let mut per_op: Vec<(String, Vec<String>)> = Vec::new();
    let mut note = |op: &str, phrase: String| {
        let Some((_, phrases)) = per_op.iter_mut().find(|(o, _)| o == op) else {
            per_op.push((op.to_owned(), vec![phrase]));
            return;
        };
        if phrases.contains(&phrase) {
            return;
        }
        // "response adds `a`" then "response adds `b`" -> "response adds `a`, `b`"
        if let Some(cut) = phrase.find(" `") {
            let (head, tail) = phrase.split_at(cut);
            if let Some(last) = phrases.last_mut()
                && last.starts_with(head)
                && last[head.len()..].starts_with(" `")
                && !last.contains(tail.trim_start())
            {
                last.push(',');
                last.push_str(tail);
                return;
            }
        }
        phrases.push(phrase);
    };
    for e in edits {
        let segs: Vec<String> = e
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(unescape)
            .collect();
        match segs.first().map(String::as_str) {
            Some("operations") if segs.len() == 2 => match e {
                Edit::Add(..) => added_ops.push(format!("`{}`", segs[1])),
                Edit::Remove(_) => removed_ops.push(format!("`{}`", segs[1])),
                Edit::Replace(..) => note(&segs[1], "changes".into()),
            },
            Some("operations") if segs.len() > 2 => {
                let op = &segs[1];
                let what = segs[2..].join("/");
                let phrase = match (what.as_str(), e) {
                    ("response/status", Edit::Replace(_, v) | Edit::Add(_, v)) => {
                        format!("status {}", codes(v))
                    }
                    ("errors", Edit::Replace(_, v) | Edit::Add(_, v)) => {
                        format!("errors {}", codes(v))
                    }
                    ("errors", Edit::Remove(_)) => "no expected errors".into(),
                    ("response/body", Edit::Add(..)) => "response gains a body".into(),
                    ("response/body", Edit::Remove(_)) => "response loses its body".into(),
                    ("request" | "query", Edit::Add(..)) => format!("gains a {what} schema"),
                    ("request" | "query", Edit::Remove(_)) => format!("loses its {what} schema"),
                    _ => format!("changes {what}"),
                };
                note(op, phrase);
            }
            Some("schemas") if segs.len() > 2 => {
                let Some((op, facet)) = owners.get(&segs[1]).cloned() else {
                    note(&segs[1], "changes".into());
                    continue;
                };
                let (path, tail) = field(&segs[2..]);
                let shown = if path.is_empty() {
                    String::new()
                } else {
                    format!(" `{path}`")
                };
                let phrase = match (tail.as_deref(), e) {
                    (Some("required"), Edit::Add(_, Value::String(name))) => {
                        let full = if path.is_empty() {
                            name.clone()
                        } else {
                            format!("{path}.{name}")
                        };
                        format!("{facet} requires `{full}`")
                    }
                    (Some("required"), _) => format!("{facet} changes what{shown} requires"),
                    (None, Edit::Add(..)) => format!("{facet} adds{shown}"),
                    (None, Edit::Remove(_)) => format!("{facet} removes{shown}"),
                    (None, Edit::Replace(..)) => format!("{facet} changes{shown}"),
                    (Some(t), _) => format!(
                        "{facet} changes `{t}` of{}",
                        if shown.is_empty() {
                            " the schema".into()
                        } else {
                            shown
                        }
                    ),
                };
                note(&op, phrase);
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if !added_ops.is_empty() {
        parts.push(format!("adds {}", added_ops.join(", ")));
    }
    if !removed_ops.is_empty() {
        parts.push(format!("removes {}", removed_ops.join(", ")));
    }
    for (op, phrases) in per_op {
        if added_ops.contains(&format!("`{op}`")) || removed_ops.contains(&format!("`{op}`")) {
            continue;
        }
        parts.push(format!("{op}: {}", phrases.join(", ")));
    }
    let mut line = String::new();
    for (i, part) in parts.iter().enumerate() {
        let sep = if line.is_empty() { "" } else { "; " };
        if line.len() + sep.len() + part.len() > MAX_LEN {
            if line.is_empty() {
                let cut = part
                    .char_indices()
                    .map(|(i, _)| i)
                    .take_while(|i| *i <= MAX_LEN)
                    .last()
                    .unwrap_or(0);
                line.push_str(&part[..cut]);
                line.push('…');
            }
            let rest = parts.len() - i - usize::from(line.ends_with('…'));
            if rest > 0 {
                line.push_str(&format!("; and {rest} more"));
            }
            break;
        }
        line.push_str(sep);
        line.push_str(part);
    }
    if line.is_empty() {
        line = "Schema details change.".into();
    }
    line
}

fn codes(v: &Value) -> String {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("/"),
        other => other.to_string(),
    }
}
