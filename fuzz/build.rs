//! Lists every generated response decoder: each client method of `generated/src/<service>/
//! <group>.rs` calls one operation and types its body with `.empty()`, `.single()` or
//! `.versioned()` into the method's `rt::Result<T>`. The table goes to `OUT_DIR/decoders.rs`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/src");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut table = String::from("&[\n");
    let mut count = 0;
    let mut services: Vec<_> = std::fs::read_dir(&root)
        .expect("generated/src")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    services.sort_by_key(|e| e.file_name());
    for service in services {
        let service_name = service.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(service.path())
            .expect("service folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        for file in files {
            let group = file.file_stem().unwrap().to_string_lossy().into_owned();
            if matches!(group.as_str(), "mod" | "types" | "schemas") {
                continue;
            }
            println!("cargo::rerun-if-changed={}", file.display());
            let text = std::fs::read_to_string(&file).expect("generated file");
            let calls = text.matches("self.0.call(&").count();
            let mut found = 0;
            let mut rest = text.as_str();
            while let Some(at) = rest.find("-> rt::Result<") {
                rest = &rest[at + "-> rt::Result<".len()..];
                let end = rest.find("> {").expect("end of the result type");
                let ty = rest[..end].trim().to_owned();
                let call = rest
                    .find("self.0.call(&")
                    .expect("a call after the signature");
                rest = &rest[call + "self.0.call(&".len()..];
                let op = rest[..rest.find(',').expect("operation")].trim().to_owned();
                let awaited = rest.find(".await?.").expect("typing of the body");
                rest = &rest[awaited + ".await?.".len()..];
                let kind = rest[..rest.find('(').expect("typing call")]
                    .trim()
                    .to_owned();
                let path = |name: &str| {
                    if let Some(inner) = name.strip_prefix("types::") {
                        format!("squall_clients::{service_name}::types::{inner}")
                    } else if let Some(inner) = name.strip_prefix("rt::") {
                        format!("squall_runtime::{inner}")
                    } else {
                        format!("squall_clients::{service_name}::{group}::{name}")
                    }
                };
                let decode = match kind.as_str() {
                    "empty" => "raw.empty().map(drop)".to_owned(),
                    "single" => format!("raw.single::<{}>().map(drop)", path(&ty)),
                    "versioned" => format!("raw.versioned::<{}>().map(drop)", path(&ty)),
                    other => panic!("{}: unknown body typing .{other}()", file.display()),
                };
                writeln!(
                    table,
                    "    Decoder {{ op: &squall_clients::{service_name}::{group}::{op}, decode: |raw| {decode} }},"
                )
                .unwrap();
                found += 1;
            }
            assert_eq!(
                found,
                calls,
                "{}: every call must be listed",
                file.display()
            );
            count += found;
        }
    }
    assert!(
        count > 50,
        "only {count} decoders found: has the generated code changed shape?"
    );
    table.push_str("]\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("decoders.rs");
    std::fs::write(out, table).unwrap();
}
