//! The generator's diagnostics (file:line and JSON pointer, each its own test), freshness, and
//! regeneration.

use std::fs;
use std::path::{Path, PathBuf};

use squall_gen::{Error, Generator};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the real specs (and, when asked, the generated code) in a temporary directory.
fn sandbox(with_generated: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("specs"), &dir.path().join("specs"));
    if with_generated {
        copy_dir(&repo().join("generated/src"), &dir.path().join("src"));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn diagnostic(dir: &Path) -> squall_gen::Diagnostic {
    match Generator::new(dir.join("specs"))
        .out_dir(dir.join("src"))
        .render()
    {
        Err(Error::Spec(d)) => d,
        other => panic!("expected a spec diagnostic, got {other:?}"),
    }
}

#[test]
fn syntax_error_has_file_and_line() {
    let dir = sandbox(false);
    let file = dir.path().join("specs/compute/2.2/keypairs.yaml");
    fs::write(
        &file,
        "summary: broken\nchanges:\n  - {op: add, path: /schemas/X\n",
    )
    .unwrap();
    let d = diagnostic(dir.path());
    assert_eq!(d.file, file);
    assert!(matches!(d.line, Some(3 | 4)), "{d}");
    assert!(d.message.contains("YAML syntax"), "{d}");
    assert!(
        d.to_string().starts_with(&format!("{}:", file.display())),
        "{d}"
    );
}

#[test]
fn unknown_ref_has_file_line_and_pointer() {
    let dir = sandbox(false);
    let file = dir.path().join("specs/compute/2.2/keypairs.yaml");
    fs::write(
        &file,
        "summary: x\nchanges:\n  - op: replace\n    path: /operations/create_keypair/response/body\n    value: {$ref: '#/schemas/Nope'}\n",
    )
    .unwrap();
    let d = diagnostic(dir.path());
    assert_eq!(d.file, file);
    assert_eq!(d.line, Some(5), "{d}");
    assert_eq!(d.pointer, "/changes/0/value/$ref");
    assert!(d.message.contains("unknown $ref '#/schemas/Nope'"), "{d}");
}

#[test]
fn change_on_a_missing_path_has_file_line_and_pointer() {
    let dir = sandbox(false);
    let file = dir.path().join("specs/compute/2.2/keypairs.yaml");
    fs::write(
        &file,
        "summary: x\nchanges:\n  - {op: replace, path: /operations/create_keypair/response/status, value: [201]}\n  - {op: replace, path: /schemas/Keypiar/required, value: []}\n",
    )
    .unwrap();
    let d = diagnostic(dir.path());
    assert_eq!(d.file, file);
    assert_eq!(d.line, Some(4), "{d}");
    assert_eq!(d.pointer, "/changes/1/path");
    assert!(
        d.message
            .contains("no such location /schemas/Keypiar/required"),
        "{d}"
    );
}

#[test]
fn version_outside_the_service_range_is_reported() {
    let dir = sandbox(false);
    let folder = dir.path().join("specs/compute/2.999");
    fs::create_dir_all(&folder).unwrap();
    let file = folder.join("keypairs.yaml");
    fs::write(&file, "summary: x\nchanges: []\n").unwrap();
    let d = diagnostic(dir.path());
    assert_eq!(d.file, file);
    assert_eq!(d.line, Some(1));
    assert!(
        d.message.contains("outside the service's range 2.1–2.104"),
        "{d}"
    );
}

#[test]
fn a_malformed_operation_points_at_the_field() {
    let dir = sandbox(false);
    let file = dir.path().join("specs/compute/2.2/keypairs.yaml");
    fs::write(
        &file,
        "changes:\n  - {op: replace, path: /operations/create_keypair/method, value: FETCH}\n",
    )
    .unwrap();
    let d = diagnostic(dir.path());
    assert_eq!(d.file, file);
    assert_eq!(d.line, Some(2), "{d}");
    assert!(d.pointer.starts_with("/changes/0/value"), "{d}");
}

#[test]
fn check_passes_on_the_checked_in_code() {
    let generated = Generator::new(repo().join("specs"))
        .out_dir(repo().join("generated/src"))
        .check()
        .unwrap_or_else(|e| panic!("generated/ must be fresh: {e}"));
    assert!(generated.files.contains_key("compute/keypairs.rs"));
}

#[test]
fn check_fails_after_an_unregenerated_spec_edit_and_generate_fixes_it() {
    let dir = sandbox(true);
    let generator = Generator::new(dir.path().join("specs")).out_dir(dir.path().join("src"));
    generator.check().expect("fresh copy");
    let file = dir.path().join("specs/compute/2.2/keypairs.yaml");
    let edited = fs::read_to_string(&file)
        .unwrap()
        .replace("  - 204", "  - 200");
    fs::write(&file, edited).unwrap();
    let Err(Error::Stale(summary)) = generator.check() else {
        panic!("check must fail after the edit")
    };
    assert!(summary.contains("compute/keypairs.rs"), "{summary}");
    generator.write().unwrap();
    generator.check().expect("fresh after regenerating");
}

#[test]
fn generation_is_deterministic() {
    let a = Generator::new(repo().join("specs")).render().unwrap();
    let b = Generator::new(repo().join("specs")).render().unwrap();
    assert_eq!(a.files, b.files);
}

#[test]
fn generated_code_has_no_panicking_calls() {
    let generated = Generator::new(repo().join("specs")).render().unwrap();
    for (path, text) in &generated.files {
        for needle in [
            ".unwrap()",
            ".expect(",
            "panic!(",
            "unreachable!(",
            "todo!(",
        ] {
            assert!(!text.contains(needle), "{path} contains {needle}");
        }
    }
}

#[test]
fn diff_describes_a_version_in_words() {
    let service = squall_gen::resolve::load_service(&repo().join("specs/compute")).unwrap();
    let parse = |t| squall_gen::version::Version::parse(t).unwrap();
    let lines = squall_gen::diff::describe(&service, parse("2.1"), parse("2.2"));
    let create = lines
        .iter()
        .find(|l| l.starts_with("keypairs.create_keypair"))
        .expect("create changes");
    assert!(create.contains("status [200] -> [201]"), "{create}");
    assert!(
        create.contains("adds `keypair.type (required)`"),
        "{create}"
    );
}

#[test]
fn the_published_format_schema_is_fresh() {
    let on_disk =
        fs::read_to_string(repo().join("specs/spec-format.schema.json")).unwrap_or_default();
    assert_eq!(
        on_disk,
        squall_gen::spec::format_schema(),
        "run `squall-gen schema > specs/spec-format.schema.json`"
    );
}
