//! Compares an imported compute tree with the hand-written one, operation by operation, at every
//! version boundary of either. Needs the scratch import (see specs/README.md), so it is ignored:
//!   cargo test -p squall-gen --test compare_hand -- --ignored --nocapture

use std::path::Path;

use serde_json::Value;
use squall_gen::resolve::{Facets, NAME_KEY, Service, load_service};
use squall_gen::version::Version;

fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != NAME_KEY && k.as_str() != "description")
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn at<'s>(s: &'s Service, name: &str, v: Version) -> Option<&'s Facets> {
    s.groups.values().find_map(|g| {
        g.operations
            .get(name)?
            .spans
            .iter()
            .find(|sp| sp.span.contains(v))
            .map(|sp| &sp.facets)
    })
}

#[test]
#[ignore = "manual: compares specs/compute with target/imported-specs (run squall-gen import first)"]
fn compare_with_hand_written_compute() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let hand = load_service(&root.join("specs/compute")).unwrap();
    let imported = load_service(&root.join("target/imported-specs/compute")).unwrap();
    let mut versions: Vec<Version> = hand.boundaries.clone();
    versions.extend(imported.boundaries.iter().copied());
    versions.sort();
    versions.dedup();
    for (gname, group) in &hand.groups {
        for name in group.operations.keys() {
            let mut last = String::new();
            for v in &versions {
                let Some(h) = at(&hand, name, *v) else {
                    continue;
                };
                let line = match at(&imported, name, *v) {
                    None => "not in the import (name differs or not declared)".to_owned(),
                    Some(i) => {
                        let mut d = Vec::new();
                        if h.path != i.path {
                            d.push(format!("path {} vs {}", h.path, i.path));
                        }
                        if h.statuses != i.statuses {
                            d.push(format!("status {:?} vs {:?}", h.statuses, i.statuses));
                        }
                        if h.errors != i.errors {
                            d.push(format!("errors {:?} vs {:?}", h.errors, i.errors));
                        }
                        for (what, a, b) in [
                            ("query", &h.query, &i.query),
                            ("request", &h.request, &i.request),
                            ("body", &h.body, &i.body),
                        ] {
                            let (a, b) = (a.as_ref().map(strip), b.as_ref().map(strip));
                            if a != b {
                                d.push(format!(
                                    "{what} differs:\n      hand: {}\n      nova: {}",
                                    a.map(|x| x.to_string()).unwrap_or("-".into()),
                                    b.map(|x| x.to_string()).unwrap_or("-".into())
                                ));
                            }
                        }
                        if h.versioned != i.versioned || h.root != i.root {
                            d.push("root/versioned differ".into());
                        }
                        d.join("\n    ")
                    }
                };
                if line != last {
                    println!(
                        "{gname}/{name} @{v}: {}",
                        if line.is_empty() { "same" } else { &line }
                    );
                    last = line;
                }
            }
        }
    }
}
