//! The plugin's spec, offline: what the generated Glance client sends and what its image schema
//! accepts. The calls against the real Glance are in the root crate's `tests/clients.rs`.

use serde_json::{Value, json};
use squall_plugin_image::image::{self, images, schemas, types};

/// An image record shaped like Glance's answer for a record without data, plus `extra`.
fn image_record(extra: Value) -> Value {
    let mut record = json!({
        "id": "0b8e4f5c-3a8d-4c3e-9a51-1f2d3c4b5a69",
        "name": "plugin-spec",
        "status": "queued",
        "visibility": "shared",
        "protected": false,
        "os_hidden": false,
        "owner": "5f0a2b8c9d6e4f718293a4b5c6d7e8f9",
        "container_format": null,
        "disk_format": null,
        "size": null,
        "virtual_size": null,
        "checksum": null,
        "os_hash_algo": null,
        "os_hash_value": null,
        "min_ram": 0,
        "min_disk": 0,
        "tags": [],
        "created_at": "2026-12-03T10:56:18Z",
        "updated_at": "2026-12-03T10:56:18Z",
        "self": "/v2/images/0b8e4f5c-3a8d-4c3e-9a51-1f2d3c4b5a69",
        "file": "/v2/images/0b8e4f5c-3a8d-4c3e-9a51-1f2d3c4b5a69/file",
        "schema": "/v2/schemas/image",
    });
    if let (Some(record), Value::Object(extra)) = (record.as_object_mut(), extra) {
        record.extend(extra);
    }
    record
}

fn violations(instance: &Value) -> Vec<String> {
    schemas::IMAGE_V2_0
        .violations(instance)
        .expect("the embedded schema compiles")
        .iter()
        .map(|v| format!("{v:?}"))
        .collect()
}

#[test]
fn module_and_service_say_image_v2_without_microversions() {
    let module = squall_plugin_image::module();
    assert_eq!(
        (module.name.as_str(), module.service_version.as_str()),
        ("image", "image.v2")
    );
    assert!(std::ptr::eq(module.service, &image::SERVICE));
    assert_eq!(image::SERVICE.catalog_type, "image");
    assert!(image::SERVICE.request_headers.is_empty());
    for op in [
        &images::LIST_IMAGES,
        &images::SHOW_IMAGE,
        &images::CREATE_IMAGE,
        &images::DELETE_IMAGE,
    ] {
        assert!(op.root && !op.versioned, "{}", op.name);
        assert!(op.spans.iter().all(|s| s.path.starts_with("/v2/images")));
    }
}

#[test]
fn image_schema_allows_string_extras_and_nothing_looser() {
    // Nova's snapshots carry additional string properties: accepted, and the typed record
    // (open) still decodes.
    let snapshot = image_record(json!({"image_type": "snapshot", "instance_uuid": "x"}));
    assert_eq!(violations(&snapshot), Vec::<String>::new());
    let typed: types::ImageV2_0 = squall_runtime::decode::from_value(&snapshot).unwrap();
    assert_eq!(typed.status, types::ImageStatusV2_0::Queued);
    assert_eq!(typed.disk_format, None);
    // Glance stores additional properties as strings only; a number is a fault.
    assert!(!violations(&image_record(json!({"image_type": 7}))).is_empty());
    // A status Glance does not have, and a base property gone missing, are faults too.
    assert!(!violations(&image_record(json!({"status": "resting"}))).is_empty());
    let mut without_status = image_record(json!({}));
    without_status.as_object_mut().unwrap().remove("status");
    assert!(!violations(&without_status).is_empty());
    // Optional base properties keep their types.
    assert_eq!(
        violations(&image_record(
            json!({"stores": "fs", "direct_url": "file:///x"})
        )),
        Vec::<String>::new()
    );
    assert!(!violations(&image_record(json!({"locations": "nowhere"}))).is_empty());
}

#[test]
fn create_request_encodes_only_what_was_set() {
    let body = types::CreateImageRequestV2_0 {
        name: Some("plugin-spec".into()),
        disk_format: Some(types::DiskFormatV2_0::Qcow2),
        tags: Some(vec!["a".into()]),
        ..Default::default()
    };
    let sent = serde_json::to_value(images::CreateImageRequest::from(body)).unwrap();
    assert_eq!(
        sent,
        json!({"name": "plugin-spec", "disk_format": "qcow2", "tags": ["a"]})
    );
    // Read from JSON, an unknown key is refused rather than dropped.
    let read = squall_runtime::decode::from_value::<types::CreateImageRequestV2_0>(
        &json!({"name": "x", "hw_disk_bus": "scsi"}),
    );
    assert!(read.is_err());
}
