//! Build script of `squall-clients` (generated/build.rs links here): with the `regenerate`
//! feature, a spec edit plus `cargo build -F regenerate` rewrites `generated/src` before the
//! crate compiles. Without it (the default, and any consumer of the published crate) it does
//! nothing and needs no generator.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "regenerate")]
    {
        let specs = std::path::Path::new("../specs");
        if specs.is_dir() {
            squall_gen::Generator::new(specs)
                .out_dir("src")
                .build_script();
        }
    }
}
