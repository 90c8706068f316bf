//! Build script of `squall-clients` (see generated/Cargo.toml): with the `regenerate` feature, a
//! spec edit plus `cargo build` regenerates `generated/src` before the crate compiles. Without
//! the feature (any consumer of the published crate) it does nothing and needs no generator.

fn main() {
    println!("cargo:rerun-if-changed=../build.rs");
    #[cfg(feature = "regenerate")]
    regenerate();
}

#[cfg(feature = "regenerate")]
fn regenerate() {
    use std::path::PathBuf;

    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let specs = manifest.join("../specs");
    if !specs.is_dir() {
        return;
    }
    println!("cargo:rerun-if-changed={}", specs.display());
    match squall_gen::Generator::new(&specs)
        .out_dir(manifest.join("src"))
        .write()
    {
        Ok(_) => {}
        Err(error) => {
            for line in error.to_string().lines() {
                println!("cargo:warning={line}");
            }
            eprintln!("squall-gen: {error}");
            std::process::exit(1);
        }
    }
}
