//! `squall-gen import` on a small hand-written fixture dump (tests/import/): determinism,
//! idempotence, overlays, minimal deltas, hand-edit detection and clear errors.

use std::path::{Path, PathBuf};

use squall_gen::import::{self, ImportError, Options};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(name)
}

/// A spec tree holding the fixture's service.yaml, and options importing into it.
fn setup() -> (tempfile::TempDir, Options) {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("demo");
    std::fs::create_dir_all(&service).unwrap();
    std::fs::copy(fixture("service.yaml"), service.join("service.yaml")).unwrap();
    std::fs::copy(fixture("overlay.yaml"), service.join("overlay.yaml")).unwrap();
    let options = Options {
        service: "demo".into(),
        dump: fixture("dump.json"),
        specs: dir.path().to_owned(),
        overlay: None,
    };
    (dir, options)
}

fn read(options: &Options, rel: &str) -> String {
    std::fs::read_to_string(options.specs.join("demo").join(rel)).unwrap()
}

fn tree(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_owned(), text));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn import_writes_base_files_deltas_and_summaries() {
    let (_dir, options) = setup();
    let report = import::write(&options).unwrap();
    assert_eq!(report.operations, 3);
    assert_eq!(report.removed, 1);
    assert_eq!(report.undeclared, 1);
    let files: Vec<String> = report
        .files
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "1.1/widgets.yaml",
            "1.2/widgets.yaml",
            "1.4/widgets.yaml",
            "1.6/widgets.yaml",
            "removed.yaml"
        ]
    );
    let base = read(&options, "1.1/widgets.yaml");
    assert!(base.starts_with(import::HEADER), "{base}");
    assert!(base.contains("summary: Widgets."), "{base}");
    assert!(base.contains("summary: List widgets."), "{base}");
    // The overlay narrowed the query's `limit`.
    assert!(base.contains("minimum: 0"), "{base}");
    // 1.2: only the status changes; the generated summary says so.
    let v12 = read(&options, "1.2/widgets.yaml");
    assert!(v12.contains("create_widget: status 201"), "{v12}");
    assert_eq!(v12.matches("- op:").count(), 1, "{v12}");
    // 1.4: the overlay's human summary; a minimal delta (one property, one required entry).
    let v14 = read(&options, "1.4/widgets.yaml");
    assert!(v14.contains("summary: Widgets gain a `color`."), "{v14}");
    assert_eq!(v14.matches("- op:").count(), 2, "{v14}");
    assert!(v14.contains("/schemas/ListWidgetsResponse/properties/widgets/items/properties/color"));
    assert!(v14.contains("/schemas/ListWidgetsResponse/properties/widgets/items/required/-"));
    // 1.6: the action appears, with the overlay's parameter name.
    let v16 = read(&options, "1.6/widgets.yaml");
    assert!(v16.contains("adds `spin_widget`"), "{v16}");
    assert!(v16.contains("/widgets/{widget_id}/action"), "{v16}");
    let removed = read(&options, "removed.yaml");
    assert!(
        removed.contains("GET /gizmos") && removed.contains("20.0.0"),
        "{removed}"
    );
    // The result loads as a spec tree.
    let service = squall_gen::resolve::load_service(&options.specs.join("demo")).unwrap();
    let widgets = &service.groups["widgets"];
    let list = &widgets.operations["list_widgets"];
    assert_eq!(list.spans.len(), 2);
    assert_eq!(
        widgets.operations["create_widget"].spans[1].facets.statuses,
        [201]
    );
}

#[test]
fn import_is_deterministic_and_idempotent() {
    let (dir_a, a) = setup();
    let (dir_b, b) = setup();
    import::write(&a).unwrap();
    import::write(&b).unwrap();
    assert_eq!(tree(dir_a.path()), tree(dir_b.path()));
    let before = tree(dir_a.path());
    let again = import::write(&a).unwrap();
    assert_eq!(again.written, 0);
    assert_eq!(again.deleted, 0);
    assert_eq!(tree(dir_a.path()), before);
    import::check(&a).unwrap();
}

#[test]
fn overlays_survive_reimport() {
    let (_dir, options) = setup();
    import::write(&options).unwrap();
    // Rename through the overlay: the old name disappears, the new one stays after re-import.
    let overlay = options.specs.join("demo/overlay.yaml");
    let mut text = std::fs::read_to_string(&overlay).unwrap();
    text.push_str("  POST /widgets:\n    name: make_widget\n");
    std::fs::write(&overlay, text).unwrap();
    assert!(
        import::check(&options).is_err(),
        "the overlay changed, so specs are stale"
    );
    import::write(&options).unwrap();
    import::write(&options).unwrap();
    let base = read(&options, "1.1/widgets.yaml");
    assert!(
        base.contains("make_widget:") && !base.contains("create_widget:"),
        "{base}"
    );
    assert!(base.contains("minimum: 0"), "{base}");
    import::check(&options).unwrap();
}

#[test]
fn hand_edits_fail_check_and_name_the_overlay() {
    let (_dir, options) = setup();
    import::write(&options).unwrap();
    let file = options.specs.join("demo/1.4/widgets.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("Widgets gain", "Widgets now gain")).unwrap();
    let err = import::check(&options).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ImportError::Stale(_)));
    assert!(message.contains("1.4/widgets.yaml: differs"), "{message}");
    assert!(message.contains("overlay"), "{message}");
    assert!(message.contains("overlay.yaml"), "{message}");
    // A stale imported file is found too.

    std::fs::create_dir_all(options.specs.join("demo/1.5")).unwrap();
    std::fs::write(
        options.specs.join("demo/1.5/old.yaml"),
        format!("{} from nothing\nchanges: []\n", import::HEADER),
    )
    .unwrap();
    let message = import::check(&options).unwrap_err().to_string();
    assert!(message.contains("old.yaml: imported earlier"), "{message}");
    // Re-import repairs both.
    import::write(&options).unwrap();
    import::check(&options).unwrap();
}

#[test]
fn hand_written_groups_are_left_alone_or_refused() {
    let (_dir, options) = setup();
    let hand = options.specs.join("demo/1.1/widgets.yaml");
    std::fs::create_dir_all(hand.parent().unwrap()).unwrap();
    std::fs::write(&hand, "operations: {}\n").unwrap();
    let message = import::write(&options).unwrap_err().to_string();
    assert!(
        message.contains("hand-written") && message.contains("skip_groups"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&hand).unwrap(), "operations: {}\n");
}

#[test]
fn bad_dumps_get_the_file_and_pointer() {
    let (_dir, mut options) = setup();
    let bad = options.specs.join("bad.json");
    let text = std::fs::read_to_string(fixture("dump.json")).unwrap();
    std::fs::write(
        &bad,
        text.replacen("\"codes\": [200]", "\"codes\": [\"ok\"]", 1),
    )
    .unwrap();
    options.dump = bad.clone();
    let message = import::write(&options).unwrap_err().to_string();
    assert!(message.starts_with(&bad.display().to_string()), "{message}");
    assert!(
        message.contains("/operations/0/status/0/codes/0"),
        "{message}"
    );

    std::fs::write(
        &bad,
        text.replacen("\"min\": \"1.4\"", "\"min\": \"1.04\"", 1),
    )
    .unwrap();
    let message = import::write(&options).unwrap_err().to_string();
    assert!(
        message.contains("/operations/0/response/1/min"),
        "{message}"
    );
    assert!(message.contains("invalid microversion"), "{message}");

    std::fs::write(&bad, "{\"format\": 1,").unwrap();
    let message = import::write(&options).unwrap_err().to_string();
    assert!(message.contains("not JSON"), "{message}");
}

#[test]
fn stale_overlays_are_errors() {
    let (_dir, options) = setup();
    let overlay = options.specs.join("demo/overlay.yaml");
    let mut text = std::fs::read_to_string(&overlay).unwrap();
    text.push_str("  GET /nothing:\n    name: nothing\n");
    std::fs::write(&overlay, &text).unwrap();
    let message = import::write(&options).unwrap_err().to_string();
    assert!(
        message.contains("the dump has no operation \"GET /nothing\""),
        "{message}"
    );
    assert!(message.contains("overlay.yaml:"), "{message}");
}

#[test]
fn services_without_microversions_get_one_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.json");
    std::fs::write(
        &dump,
        r#"{"format": 1, "service": "ident", "package": {"name": "k", "version": "1"},
            "microversions": null,
            "operations": [{"key": "GET /v3/things", "method": "GET", "path": "/v3/things",
              "versions": {"min": null, "max": null},
              "response": [{"min": null, "max": null, "schema": {"type": "object",
                 "properties": {"things": {"type": "array"}}, "additionalProperties": false}}],
              "status": [{"min": null, "max": null, "codes": [200]}]}]}"#,
    )
    .unwrap();
    let overlay = dir.path().join("overlay.yaml");
    std::fs::write(
        &overlay,
        "service: {service: ident, catalog_type: identity, microversions: false, \
         version_document: {path: /}}\nfolder: v3\nroot: true\n",
    )
    .unwrap();
    let options = Options {
        service: "ident".into(),
        dump,
        specs: dir.path().join("specs"),
        overlay: Some(overlay),
    };
    import::write(&options).unwrap();
    let loaded = squall_gen::resolve::load_service(&options.specs.join("ident")).unwrap();
    let op = &loaded.groups["things"].operations["list_things"];
    assert_eq!(op.spans.len(), 1);
    assert!(!op.spans[0].facets.versioned);
    assert!(op.spans[0].facets.root);
    assert_eq!(loaded.min.to_string(), "3.0");
    import::check(&options).unwrap();
}

/// The overlay rules Nova and Keystone need, on an inline dump: union types narrowed in
/// requests and queries, query parameters annotated by name, a patch bounded inside a
/// variant splitting it, the service's prose and empty `required` lists dropped, and an
/// operation that answers only 204 imported without a body.
#[test]
fn narrowing_annotations_bounded_patches_and_no_content() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("demo");
    std::fs::create_dir_all(&service).unwrap();
    std::fs::copy(fixture("service.yaml"), service.join("service.yaml")).unwrap();
    let any = serde_json::json!({"min": null, "max": null});
    let dump = serde_json::json!({
    "format": 1, "service": "demo",
    "package": {"name": "demo-service", "version": "1.0.0"},
    "microversions": {"min": "1.1", "max": "1.9"},
    "operations": [
        {"key": "GET /gadgets", "method": "GET", "path": "/gadgets", "versions": any,
         "query": [{"min": null, "max": null, "schema": {"type": "object", "properties": {
             "limit": {"type": "array", "items": {"type": ["integer", "string"],
                                                  "pattern": "^[0-9]*$"}}},
             "additionalProperties": true}}],
         "response": [{"min": null, "max": null, "schema": {
             "type": "object", "description": "The service's own words.", "required": [],
             "properties": {"description": {"type": "string"},
                            "size": {"type": ["integer", "string"]}},
             "additionalProperties": false}}],
         "status": [{"min": null, "max": null, "codes": [200]}]},
        {"key": "DELETE /gadgets/{id}", "method": "DELETE", "path": "/gadgets/{id}",
         "versions": any, "status": [{"min": null, "max": null, "codes": [204]}]},
        {"key": "POST /gadgets", "method": "POST", "path": "/gadgets", "versions": any,
         "status": [{"min": null, "max": null, "codes": [200]}]}
    ]});
    let dump_path = dir.path().join("dump.json");
    std::fs::write(&dump_path, dump.to_string()).unwrap();
    std::fs::write(
        service.join("overlay.yaml"),
        "narrow_types:\n- {from: [integer, string], to: integer}\n\
         query_parameters:\n  limit: {x-squall-query: single}\n\
         operations:\n  GET /gadgets:\n    patches:\n\
         \x20   - {facet: response, op: replace, path: /properties/size, value: {type: string}, min: '1.4', max: '1.6'}\n",
    )
    .unwrap();
    let options = Options {
        service: "demo".into(),
        dump: dump_path,
        specs: dir.path().to_owned(),
        overlay: None,
    };
    let report = import::write(&options).unwrap();
    assert_eq!(
        report.operations, 2,
        "the 204 delete is in, the undeclared POST out"
    );
    assert_eq!(report.undeclared, 1);

    let base = read(&options, "1.1/gadgets.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&base).unwrap();
    let limit = &doc["schemas"]["ListGadgetsQuery"]["properties"]["limit"];
    assert_eq!(limit["x-squall-query"].as_str(), Some("single"));
    // Queries are narrowed: only the response keeps Nova-style unions.
    assert_eq!(limit["items"]["type"].as_str(), Some("integer"));
    assert!(
        limit["items"].get("pattern").is_none(),
        "string keywords go with the string"
    );
    let response = &doc["schemas"]["ListGadgetsResponse"];
    assert!(
        response.get("description").is_none(),
        "prose is dropped: {base}"
    );
    assert!(
        response.get("required").is_none(),
        "an empty required list is dropped"
    );
    assert!(
        response["properties"].get("description").is_some(),
        "a property named description stays"
    );
    let delete = &doc["operations"]["delete_gadget"];
    assert_eq!(delete["response"]["status"][0].as_u64(), Some(204));
    assert!(delete["response"].get("body").is_none());

    // The bounded patch applies at 1.4–1.6 only: changes at 1.4 and back at 1.7.
    let changed = read(&options, "1.4/gadgets.yaml");
    assert!(
        changed.contains("value: string") || changed.contains("type: string"),
        "{changed}"
    );
    let back = read(&options, "1.7/gadgets.yaml");
    assert!(back.contains("- integer"), "{back}");
    assert!(!options.specs.join("demo/1.5").exists());
}
