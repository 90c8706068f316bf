//! The README's "Writing microversion tests" example is `examples/microversion_tests.rs`, which CI
//! compiles and runs; this keeps the two from drifting apart.

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
