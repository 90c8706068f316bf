//! Properties of the code generated from the bundled specs (`../specs`): one type per
//! structure, and every type a group's operations name is named after that group's own
//! schemas or operations.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

#[test]
fn no_two_generated_types_are_structurally_identical() {
    let generated = squall_gen::Generator::new(specs())
        .render()
        .expect("bundled specs generate");
    for service in &generated.services {
        assert!(
            service.duplicate_types.is_empty(),
            "{}: structurally identical types {:?}",
            service.name,
            service.duplicate_types
        );
    }
}

/// The role of a type name: the name without its version suffix (`KeypairsQueryV2_10` ->
/// `KeypairsQuery`).
fn role(name: &str) -> &str {
    let cut = name.rfind('V').filter(|&i| {
        name[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    });
    cut.map_or(name, |i| &name[..i])
}

fn pascal(snake: &str) -> String {
    snake
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect()
}

#[test]
fn no_type_is_named_after_an_unrelated_group() {
    let generated = squall_gen::Generator::new(specs())
        .render()
        .expect("bundled specs generate");
    let mut checked = 0;
    for (path, code) in &generated.files {
        let Some((service, file)) = path.split_once('/') else {
            continue;
        };
        let Some(group) = file.strip_suffix(".rs") else {
            continue;
        };
        if matches!(group, "mod" | "types" | "schemas") {
            continue;
        }
        // What the group's own spec files name: its schemas and its operations.
        let mut own = BTreeSet::new();
        for version in std::fs::read_dir(specs().join(service)).unwrap() {
            let spec = version.unwrap().path().join(format!("{group}.yaml"));
            let Ok(text) = std::fs::read_to_string(&spec) else {
                continue;
            };
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            for key in ["schemas", "operations"] {
                if let Some(map) = doc.get(key).and_then(|m| m.as_mapping()) {
                    own.extend(map.keys().filter_map(|k| k.as_str()).map(pascal));
                }
            }
            for change in doc
                .get("changes")
                .and_then(|c| c.as_sequence())
                .into_iter()
                .flatten()
            {
                let path = change
                    .get("path")
                    .and_then(|p| p.as_str())
                    .unwrap_or_default();
                if let Some(name) = path
                    .strip_prefix("/schemas/")
                    .or(path.strip_prefix("/operations/"))
                {
                    own.insert(pascal(name.split('/').next().unwrap_or_default()));
                }
            }
        }
        for used in code.split("types::").skip(1) {
            let name: String = used
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let role = role(&name);
            let related = own
                .iter()
                .any(|o| role == o || role.starts_with(o.as_str()));
            assert!(
                related,
                "{path} names `{name}`, whose role `{role}` is not one of {group}'s: {own:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} type uses checked");
}
