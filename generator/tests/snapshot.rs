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
        }
        Err(stale) => panic!(
            "{stale}\nreview the change, then bless it: SQUALL_BLESS=1 cargo test -p squall-gen --test snapshot"
        ),
    }
}
