//! Generates the plugin's Keystone (identity v3) client from `specs/` into `OUT_DIR`, as prost-build would.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("generated");
    let specs = manifest.join("specs");
    println!("cargo:rerun-if-changed={}", specs.display());
    if let Err(error) = squall_gen::Generator::new(&specs).out_dir(&out).write() {
        for line in error.to_string().lines() {
            println!("cargo:warning={line}");
        }
        std::process::exit(1);
    }
    // src/lib.rs `include!`s the service's mod.rs inside a module: inner doc comments
    // (`//!`) are not allowed there, so they become plain comments (the module's docs are on
    // the `mod` item).
    let module = out.join("identity/mod.rs");
    let fixed = std::fs::read_to_string(&module).map(|text| {
        text.lines()
            .map(|line| match line.strip_prefix("//!") {
                Some(rest) => format!("//{rest}"),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    if let Err(error) = fixed.and_then(|text| std::fs::write(&module, text + "\n")) {
        println!("cargo:warning={}: {error}", module.display());
        std::process::exit(1);
    }
}
