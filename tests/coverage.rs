//! How much of each service the specs cover, counted from the specs themselves (offline):
//! every live Nova route plus its unversioned root document, Nova's removed operations, all of
//! Placement, and Keystone's identity v3 operations (imported plus hand-written).
//! `scripts/test` also proves with `squall-gen import --check` that the imported specs are
//! exactly the services' own declarations plus the overlays.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use squall_gen::resolve::{Service, load_service};

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

fn service(name: &str) -> Service {
    load_service(&specs().join(name)).unwrap_or_else(|d| panic!("{d}"))
}

/// (name, root and unversioned) for every operation of a service.
fn operations(service: &Service) -> Vec<(String, bool)> {
    service
        .groups
        .values()
        .flat_map(|g| g.operations.values())
        .map(|op| {
            let facets = &op.spans[0].facets;
            (op.name.clone(), facets.root && !facets.versioned)
        })
        .collect()
}

fn removed(service: &str) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(specs().join(service).join("removed.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["removed"].as_sequence().cloned().unwrap_or_default()
}

#[test]
fn compute_has_every_live_nova_route_and_marks_the_removed_ones() {
    let compute = service("compute");
    let ops = operations(&compute);
    let routes = ops.iter().filter(|(_, root_doc)| !root_doc).count();
    let roots: Vec<&str> = ops
        .iter()
        .filter(|(_, root_doc)| *root_doc)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(routes, 211, "Nova 34 routes 211 live operations");
    assert_eq!(
        roots,
        ["list_versions"],
        "plus the unversioned version list"
    );
    assert_eq!(
        (compute.min.to_string(), compute.max.to_string()),
        ("2.1".into(), "2.104".into())
    );
    let gone = removed("compute");
    assert_eq!(gone.len(), 54, "Nova removed 54 operations");
    assert!(gone.iter().all(|e| e["status"].as_u64() == Some(410)));
    // A removed operation is not also live.
    let live: BTreeSet<(String, String)> = compute
        .groups
        .values()
        .flat_map(|g| g.operations.values())
        .map(|op| {
            let f = &op.spans[0].facets;
            (f.method.as_str().to_owned(), f.path.clone())
        })
        .collect();
    for entry in &gone {
        let key = (
            entry["method"].as_str().unwrap().to_owned(),
            entry["path"].as_str().unwrap().to_owned(),
        );
        if !entry["key"].as_str().unwrap().contains('#') {
            assert!(!live.contains(&key), "{key:?} is removed and live");
        }
    }
}

#[test]
fn placement_has_all_37_operations() {
    assert_eq!(operations(&service("placement")).len(), 37);
}

#[test]
fn identity_has_the_imported_and_the_hand_written_operations() {
    let identity = service("identity");
    let ops = operations(&identity);
    assert_eq!(
        ops.len(),
        175,
        "167 imported + 8 hand-written (tokens, auth)"
    );
    for hand in [
        "issue_token",
        "validate_token",
        "check_token",
        "revoke_token",
        "show_catalog",
        "list_auth_projects",
        "list_auth_domains",
        "list_auth_system",
    ] {
        assert!(ops.iter().any(|(n, _)| n == hand), "{hand}");
    }
    assert!(!identity.def.microversions, "Keystone has no microversions");
}
