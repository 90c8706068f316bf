//! The two test tiers' convention, checked over the whole workspace: every `#[ignore]` has a
//! reason, and it starts with `live: needs ` (a test that needs a real service; nextest's
//! `--run-ignored all` and `cargo test -- --include-ignored` run it) or `manual: ` (a
//! developer tool, left out by nextest's default filter).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == "generated" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_ignore_says_live_or_manual() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut live = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.starts_with("#[ignore") {
                continue;
            }
            if line.starts_with("#[ignore = \"live: needs ") {
                live += 1;
            } else if !line.starts_with("#[ignore = \"manual: ") {
                wrong.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ignores without a live:/manual: reason:\n{}",
        wrong.join("\n")
    );
    assert!(live > 50, "only {live} live tests found");
}
