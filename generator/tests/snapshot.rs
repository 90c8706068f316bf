//! Snapshot of the generator's output for the tiny spec tree in `tests/snapshot/specs`. The
//! expected files are the sources of the `squall-gen-snapshot` crate (`tests/snapshot/src`),
//! which the workspace compiles, so the snapshot is both reviewed and type-checked.
//!
//! After an intended change to emission: `SQUALL_BLESS=1 cargo test -p squall-gen --test snapshot`.

use std::path::PathBuf;

#[test]
fn widgets_output_matches_the_snapshot_crate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshot");
    let generator = squall_gen::Generator::new(root.join("specs")).out_dir(root.join("src"));
    if std::env::var_os("SQUALL_BLESS").is_some() {
        generator.write().expect("fixture generates");
    }
    match generator.check() {
        Ok(generated) => {
            assert!(generated.files.contains_key("widgets/widgets.rs"));
            assert!(generated.files.len() >= 6, "{:?}", generated.files.keys());
            // A top-level array body (a JSON Patch document) is a list of its items, encodable.
            let types = &generated.files["widgets/types.rs"];
            assert!(
                types.contains(
                    "pub type UpdateWidgetRequestV1_1 = Vec<UpdateWidgetRequestItemV1_1>;"
                ),
                "{types}"
            );
            assert!(types.contains("rt::record!(encode UpdateWidgetRequestItemV1_1"));
            // A group that names no schema or type imports neither.
            let signals = &generated.files["widgets/signals.rs"];
            assert!(!signals.contains("use super::"), "{signals}");
        }
        Err(stale) => panic!(
            "{stale}\nreview the change, then bless it: SQUALL_BLESS=1 cargo test -p squall-gen --test snapshot"
        ),
    }
}
