//! Documentation and hand-kept lists that must follow the code: the README's "Writing microversion
//! tests" example is `examples/microversion_tests.rs` (which CI compiles and runs), and the typed
//! accessors cover every generated client.

#[test]
fn readme_microversion_example_is_the_example_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{root}/examples/microversion_tests.rs")).unwrap();
    let section = &readme[readme
        .find("## Writing microversion tests")
        .expect("section present")..];
    let start = section.find("```rust\n").expect("code block") + "```rust\n".len();
    let block = &section[start..start + section[start..].find("```\n").unwrap()];
    let code = &example[example.find("use std::process::ExitCode;").unwrap()..];
    assert_eq!(
        block, code,
        "README block differs from examples/microversion_tests.rs"
    );
}

/// Every generated client has a typed accessor on its service's factory
/// (`clients.compute().keypairs()`), emitted by the generator beside the client.
#[test]
fn every_generated_client_has_a_typed_accessor() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut checked = 0;
    for service in std::fs::read_dir(format!("{root}/generated/src")).unwrap() {
        let dir = service.unwrap().path();
        let Ok(module) = std::fs::read_to_string(dir.join("mod.rs")) else {
            continue;
        };
        for line in module.lines() {
            let Some(rest) = line.strip_prefix("pub use ") else {
                continue;
            };
            let Some((group, client)) = rest.trim_end_matches(';').split_once("::") else {
                continue;
            };
            if !client.ends_with("Client") {
                continue;
            }
            // Compared without layout: prettyplease wraps long signatures.
            let flat: String = module.chars().filter(|c| !c.is_whitespace()).collect();
            let flat = flat.replace(",)", ")");
            let accessor =
                format!("fn{group}(&self)->implFuture<Output=Result<{client},rt::Error>>");
            assert!(
                flat.contains(&accessor),
                "{} lacks the accessor `{accessor}`",
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 16, "only {checked} generated clients found");
}

/// The README's first two examples (ServiceClients in two lines, typed bodies) are
/// `examples/quickstart.rs`, which CI builds.
#[test]
fn readme_quick_start_is_the_quickstart_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/quickstart.rs")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```rust\n")
        .skip(1)
        .take(2)
        .map(|b| &b[..b.find("```\n").unwrap()])
        .collect();
    assert_eq!(blocks.len(), 2);
    assert!(blocks[0].contains("CloudConfig::load()?.builder()?.build()?"));
    for block in blocks {
        // The example indents each block by four spaces inside a module.
        let indented: String = block
            .lines()
            .map(|l| {
                if l.is_empty() {
                    "\n".to_owned()
                } else {
                    format!("    {l}\n")
                }
            })
            .collect();
        assert!(
            example.contains(&indented),
            "README block not in examples/quickstart.rs:\n{block}"
        );
    }
}
