//! The fuzz targets. Each runs one input through a parser and checks what must hold besides
//! "no panic".

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::{Map, Value};
use squall_runtime::{Error, Microversion, OperationEntry, RawResponse, Validation};

use crate::engine::{Failure, Target, shape, signature};

/// Every fuzz target's name.
pub const NAMES: [&str; 6] = [
    "spec",
    "decode",
    "ini",
    "libvirt",
    "clouds-yaml",
    "tempest-conf",
];

/// The target called `name`.
pub fn by_name(name: &str, root: &Path) -> Result<Box<dyn Target>, String> {
    Ok(match name {
        "spec" => Box::new(Spec::new(&root.join("../specs"))?),
        "decode" => Box::new(Decode),
        "ini" => Box::new(IniTarget),
        "libvirt" => Box::new(Libvirt),
        "clouds-yaml" => Box::new(CloudsYaml::new()?),
        "tempest-conf" => Box::new(TempestConf::new()?),
        other => {
            return Err(format!(
                "no target {other:?} (targets: {})",
                NAMES.join(", ")
            ));
        }
    })
}

const YAML_TOKENS: &[&[u8]] = &[
    b"---\n",
    b"...\n",
    b"- ",
    b": ",
    b"? ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!!binary ",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"\"",
    b"'",
    b"|\n",
    b">-\n",
    b"#",
    b"\n  ",
    b"null",
    b"~",
    b"true",
    b"1.0",
    b"2.1",
    b"-1",
    b"<<: *a\n",
    b"$ref: '#/schemas/X'",
    b"op: add",
    b"op: remove",
    b"op: replace",
    b"path: /",
    b"value: ",
    b"~1",
    b"~0",
    b"/-",
];

// --- spec trees ---------------------------------------------------------------------------

/// The spec loader and resolver on mutated spec trees: a copy of the repository's specs where
/// one file is replaced by the input. Input: `<path in the tree>\n<file content>`.
/// Property: every diagnostic about a file's content names a line.
///
/// To keep a run short the trees are the first versions of two real services (Placement up to
/// 1.6, Ironic up to 1.9: `max_version` lowered to match); they use every construct of the
/// format that the later versions use.
struct Spec {
    tree: tempfile::TempDir,
    files: Vec<(String, Vec<u8>)>,
}

/// The services and the last version folder of their fuzzed trees.
const SPEC_TREES: [(&str, (u32, u32)); 2] = [("placement", (1, 6)), ("baremetal", (1, 9))];

fn folder_version(name: &str) -> Option<(u32, u32)> {
    let (major, minor) = name.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl Spec {
    fn new(specs: &Path) -> Result<Self, String> {
        let tree = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut files = Vec::new();
        for (service, last) in SPEC_TREES {
            let from = specs.join(service);
            let to = tree.path().join(service);
            let io = |e: std::io::Error| format!("copying specs/{service}: {e}");
            std::fs::create_dir_all(&to).map_err(io)?;
            let text = std::fs::read_to_string(from.join("service.yaml")).map_err(io)?;
            let max = format!("max_version: \"{}.{}\"", last.0, last.1);
            let text: String = text
                .lines()
                .map(|l| {
                    if l.starts_with("max_version:") {
                        max.as_str()
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(to.join("service.yaml"), &text).map_err(io)?;
            files.push((format!("{service}/service.yaml"), text.into_bytes()));
            for entry in std::fs::read_dir(&from).map_err(io)? {
                let entry = entry.map_err(io)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() && folder_version(&name).is_some_and(|v| v <= last) {
                    copy_tree(
                        &entry.path(),
                        &to.join(&name),
                        &format!("{service}/{name}"),
                        &mut files,
                    )
                    .map_err(io)?;
                }
            }
        }
        files.sort();
        Ok(Self { tree, files })
    }
}

fn copy_tree(
    from: &Path,
    to: &Path,
    relative: &str,
    files: &mut Vec<(String, Vec<u8>)>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{relative}/{name}");
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(&name), &rel, files)?;
        } else {
            let bytes = std::fs::read(entry.path())?;
            std::fs::write(to.join(&name), &bytes)?;
            files.push((rel, bytes));
        }
    }
    Ok(())
}

impl Target for Spec {
    fn name(&self) -> &'static str {
        "spec"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        self.files
            .iter()
            .map(|(rel, bytes)| {
                let mut seed = format!("{rel}\n").into_bytes();
                seed.extend_from_slice(bytes);
                seed
            })
            .collect()
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        YAML_TOKENS
    }

    fn mutate_tree(&self, input: &[u8]) -> Option<Vec<u8>> {
        let split = input.iter().position(|&b| b == b'\n')?;
        let mut value: Value = serde_yaml::from_slice(&input[split + 1..]).ok()?;
        crate::tree::mutate(&mut value);
        let mut out = input[..=split].to_vec();
        out.extend_from_slice(serde_yaml::to_string(&value).ok()?.as_bytes());
        Some(out)
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        let (head, content) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (&input[..i], &input[i + 1..]),
            None => (&input[..0], input),
        };
        let head = String::from_utf8_lossy(head);
        let index = self
            .files
            .iter()
            .position(|(rel, _)| *rel == head)
            .unwrap_or_else(|| (signature(&*head) % self.files.len() as u64) as usize);
        let (rel, original) = &self.files[index];
        let path = self.tree.path().join(rel);
        let service = rel.split('/').next().unwrap_or_default().to_owned();
        std::fs::write(&path, content).map_err(|e| format!("writing {rel}: {e}"))?;
        let result = squall_gen::resolve::load_service(&self.tree.path().join(&service));
        std::fs::write(&path, original).map_err(|e| format!("restoring {rel}: {e}"))?;
        match result {
            Ok(_) => Ok(signature(("ok", rel))),
            Err(d) => {
                if d.line.is_none() && !d.message.starts_with("cannot read") {
                    return Err(format!("a diagnostic without a line: {d}"));
                }
                let pointer: String = d.pointer.chars().filter(|c| !c.is_ascii_digit()).collect();
                Ok(signature((&service, pointer, shape(&d.message))))
            }
        }
    }
}

// --- generated response decoders ------------------------------------------------------------

/// Every generated operation with its typed decoder, from the generated tables
/// (`squall_clients::TABLES`).
static DECODERS: LazyLock<Vec<&'static OperationEntry>> = LazyLock::new(|| {
    squall_clients::TABLES
        .iter()
        .flat_map(|table| table.operations())
        .collect()
});

/// The number of generated decoders.
pub fn decoder_count() -> usize {
    DECODERS.len()
}

/// Every generated response decoder on arbitrary and mutated bodies. Input: two bytes choosing
/// the operation, one choosing the response variant and the validation mode, then the body.
/// Properties: a failure is a validation error naming the operation; a body the strict mode
/// accepts, the typed-only mode accepts too.
struct Decode;

fn decode_once(
    decoder: &OperationEntry,
    version: Microversion,
    body: &[u8],
    mode: Validation,
) -> Result<(), Error> {
    let raw = RawResponse::from_body(decoder.meta, version, Bytes::copy_from_slice(body), mode)?;
    (decoder.decode)(raw).map(drop)
}

impl Target for Decode {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds = Vec::new();
        for (index, decoder) in DECODERS.iter().enumerate() {
            for (v, variant) in decoder.meta.variants.iter().enumerate() {
                let Some(schema) = variant.body else { continue };
                let Ok(root) = serde_json::from_str::<Value>(schema.json) else {
                    continue;
                };
                for full in [false, true] {
                    let body = example(&root, &root, full, 0);
                    let mut seed = vec![(index >> 8) as u8, index as u8, (v as u8) << 1];
                    seed.extend_from_slice(body.to_string().as_bytes());
                    seeds.push(seed);
                }
            }
        }
        seeds
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b"\":",
            b",",
            b"null",
            b"true",
            b"false",
            b"0",
            b"-1",
            b"1e999",
            b"-0.0",
            b"18446744073709551616",
            b"\"\\u0000\"",
            b"\"\\ud800\"",
            b"\"2026-01-01T00:00:00Z\"",
            b"\"2026-01-01T00:00:00.000000\"",
            b"{}",
            b"[]",
            b"\"links\"",
            b"\"id\"",
            b"\"name\"",
            b"\"href\"",
            b"\"rel\"",
        ]
    }

    fn mutate_tree(&self, input: &[u8]) -> Option<Vec<u8>> {
        let mut value: Value = serde_json::from_slice(input.get(3..)?).ok()?;
        crate::tree::mutate(&mut value);
        let mut out = input[..3].to_vec();
        out.extend_from_slice(&serde_json::to_vec(&value).ok()?);
        Some(out)
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        if input.len() < 3 {
            return Ok(signature("short"));
        }
        let index = (usize::from(input[0]) << 8 | usize::from(input[1])) % DECODERS.len();
        let decoder = &DECODERS[index];
        let variants = decoder.meta.variants;
        if variants.is_empty() {
            return Ok(signature(("no variants", index)));
        }
        let variant = &variants[usize::from(input[2] >> 1) % variants.len()];
        let mode = if input[2] & 1 == 0 {
            Validation::Strict
        } else {
            Validation::TypedOnly
        };
        let body = &input[3..];
        let version = variant.span.min;
        let name = format!("{}.{}", decoder.meta.service.name, decoder.meta.name);
        match decode_once(decoder, version, body, mode) {
            Ok(()) => {
                if mode == Validation::Strict
                    && let Err(e) = decode_once(decoder, version, body, Validation::TypedOnly)
                {
                    return Err(format!(
                        "{name} at {version}: strict accepts the body, typed-only refuses it: {e}"
                    ));
                }
                Ok(signature((
                    "ok",
                    index,
                    variant.index,
                    mode == Validation::Strict,
                )))
            }
            Err(e) => {
                let Some(context) = e.context() else {
                    return Err(format!("{name}: an error without context: {e}"));
                };
                if context.operation != name {
                    return Err(format!(
                        "{name}: the error names {}: {e}",
                        context.operation
                    ));
                }
                let pointer = match &e {
                    Error::Validation { pointer, .. } => pointer
                        .split('/')
                        .map(|s| {
                            if s.bytes().all(|b| b.is_ascii_digit()) {
                                "#"
                            } else {
                                s
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/"),
                    _ => String::new(),
                };
                let message = match &e {
                    Error::Validation { message, .. } => shape(message),
                    other => shape(&other.to_string()),
                };
                Ok(signature((index, variant.index, pointer, message)))
            }
        }
    }
}

/// A body shaped by `schema`: the required properties (all with `full`), first enum values,
/// one item per array when `full` or required.
fn example(schema: &Value, root: &Value, full: bool, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    let Some(object) = schema.as_object() else {
        return Value::Null;
    };
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        let resolved = target.strip_prefix('#').and_then(|p| root.pointer(p));
        return resolved.map_or(Value::Null, |s| example(s, root, full, depth + 1));
    }
    if let Some(first) = object
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    if let Some(value) = object.get("const") {
        return value.clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = object
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return example(first, root, full, depth + 1);
        }
    }
    let ty = match object.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if object.contains_key("properties") => "object",
        _ => "null",
    };
    match ty {
        "object" => {
            let required: Vec<&str> = object
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            if let Some(properties) = object.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if full || required.contains(&name.as_str()) {
                        out.insert(name.clone(), example(property, root, full, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min = object.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            match object.get("items") {
                Some(items) if full || min > 0 => {
                    Value::Array(vec![example(items, root, full, depth + 1)])
                }
                _ => Value::Array(Vec::new()),
            }
        }
        "string" => {
            let text = match object.get("format").and_then(Value::as_str) {
                Some("date-time") => "2026-01-01T00:00:00Z".to_owned(),
                Some("uuid") => "5f2a8a7e-1c2b-4e55-9a1f-0a6b7c8d9e0f".to_owned(),
                Some("uri") => "http://127.0.0.1/x".to_owned(),
                _ => {
                    let min = object.get("minLength").and_then(Value::as_u64).unwrap_or(1);
                    "x".repeat(usize::try_from(min.clamp(1, 64)).unwrap_or(1))
                }
            };
            Value::String(text)
        }
        "integer" | "number" => object
            .get("minimum")
            .cloned()
            .unwrap_or_else(|| Value::from(0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

// --- whitebox INI ---------------------------------------------------------------------------

/// The whitebox INI editor. Properties: parsing and rendering gives back the text byte for
/// byte; an option set in a section reads back after a re-parse, and is gone after a delete.
struct IniTarget;

impl Target for IniTarget {
    fn name(&self) -> &'static str {
        "ini"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"[",
            b"]",
            b"[DEFAULT]\n",
            b"=",
            b":",
            b" = ",
            b"\n",
            b"\r\n",
            b"\n    ",
            b"\t",
            b"#",
            b";",
            b"[squall_fuzz]\n",
            b"key",
            b"key = old\n",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        use squall_whitebox::ini::IniDocument;
        let text = String::from_utf8_lossy(input);
        let mut doc = IniDocument::parse(&text);
        if doc.render() != text {
            return Err("render(parse(text)) differs from the text".to_owned());
        }
        doc.set("squall_fuzz", "key", "value");
        let reparsed = IniDocument::parse(&doc.render());
        if reparsed.get("squall_fuzz", "key").as_deref() != Some("value") {
            return Err(format!(
                "set then re-parse reads {:?}, not \"value\"",
                reparsed.get("squall_fuzz", "key")
            ));
        }
        let mut again = reparsed;
        again.delete("squall_fuzz", "key");
        let after = IniDocument::parse(&again.render());
        if let Some(left) = after.get("squall_fuzz", "key") {
            return Err(format!("a deleted option still reads {left:?}"));
        }
        // The pairs of adjacent line classes present: the structure, not the length.
        let classes = line_classes(&text);
        let mut pairs: Vec<(u8, u8)> = classes.windows(2).map(|w| (w[0], w[1])).collect();
        pairs.sort_unstable();
        pairs.dedup();
        Ok(signature(pairs))
    }
}

/// The first character class of each line: the structure of an INI text.
fn line_classes(text: &str) -> Vec<u8> {
    text.split_inclusive('\n')
        .map(|line| match line.bytes().next() {
            None => 0,
            Some(b'[') => 1,
            Some(b'#' | b';') => 2,
            Some(b' ' | b'\t') => 3,
            Some(b'\n' | b'\r') => 4,
            Some(b'=' | b':') => 5,
            Some(_) if line.contains('=') || line.contains(':') => 6,
            Some(_) => 7,
        })
        .collect()
}

// --- libvirt XML ----------------------------------------------------------------------------

/// The libvirt parsers: domain XML, capabilities XML and `virsh domblklist` output.
struct Libvirt;

impl Target for Libvirt {
    fn name(&self) -> &'static str {
        "libvirt"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"<",
            b">",
            b"</",
            b"/>",
            b"<domain type='kvm'>",
            b"</domain>",
            b"<vcpupin vcpu='0' cpuset='2'/>",
            b"<cputune>",
            b"</cputune>",
            b"cpuset='",
            b"'",
            b"\"",
            b"&amp;",
            b"&#0;",
            b"&lt;",
            b"<![CDATA[",
            b"]]>",
            b"<!DOCTYPE x [<!ENTITY e 'x'>]>",
            b"&e;",
            b"<?xml version='1.0'?>",
            b"<!--",
            b"-->",
            b"0-3,^2",
            b"-",
            b",",
            b"^",
            b"4294967296",
            b"<numa>",
            b"<cell ",
            b"<memory unit='KiB'>",
            b"<disk ",
            b"<target dev='vda'/>",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        use squall_whitebox::libvirt::{Capabilities, Domain, parse_domblklist};
        let text = String::from_utf8_lossy(input);
        let domain = Domain::parse(&text, "fuzz").map(|d| {
            // Walk what a test would read.
            let cpus = d.pinned_cpus();
            let disks = d.devices_of("disk").count();
            (cpus.len(), disks)
        });
        let capabilities = Capabilities::parse(&text).is_ok();
        let blocks = parse_domblklist(&text).map(|b| b.len());
        let domain_outcome = match &domain {
            Ok((cpus, disks)) => format!("ok {} {}", cpus.min(&4), disks.min(&4)),
            Err(e) => shape(&e.to_string()),
        };
        let blocks_outcome = match &blocks {
            Ok(n) => format!("ok {}", n.min(&4)),
            Err(e) => shape(e),
        };
        Ok(signature((domain_outcome, capabilities, blocks_outcome)))
    }
}

// --- clouds.yaml and tempest.conf ------------------------------------------------------------

/// The `clouds.yaml` reader, on a file holding the input, for cloud `squall`.
struct CloudsYaml {
    dir: tempfile::TempDir,
}

impl CloudsYaml {
    fn new() -> Result<Self, String> {
        Ok(Self {
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
        })
    }
}

impl Target for CloudsYaml {
    fn name(&self) -> &'static str {
        "clouds-yaml"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        YAML_TOKENS
    }

    fn mutate_tree(&self, input: &[u8]) -> Option<Vec<u8>> {
        let mut value: Value = serde_yaml::from_slice(input).ok()?;
        crate::tree::mutate(&mut value);
        serde_yaml::to_string(&value).ok().map(String::into_bytes)
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        let path: PathBuf = self.dir.path().join("clouds.yaml");
        std::fs::write(&path, input).map_err(|e| e.to_string())?;
        let outcome = match squall_runtime::CloudConfig::from_files(&path, None, "squall") {
            Ok(config) => match config.builder() {
                Ok(_) => "builder".to_owned(),
                Err(e) => shape(&e.to_string()),
            },
            Err(e) => shape(&e.to_string()),
        };
        Ok(signature(outcome))
    }
}

/// The `tempest.conf` readers: the INI reader, and the cloud settings taken from it.
struct TempestConf {
    dir: tempfile::TempDir,
}

impl TempestConf {
    fn new() -> Result<Self, String> {
        Ok(Self {
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
        })
    }
}

impl Target for TempestConf {
    fn name(&self) -> &'static str {
        "tempest-conf"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"[",
            b"]",
            b"[auth]\n",
            b"[identity]\n",
            b"[compute]\n",
            b"=",
            b" = ",
            b"\n",
            b"\n  ",
            b"#",
            b";",
            b"min_microversion = ",
            b"max_microversion = ",
            b"latest",
            b"2.1",
            b"None",
            b"uri_v3 = http://127.0.0.1/identity/v3\n",
            b"true",
            b"false",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
        let text = String::from_utf8_lossy(input);
        let ini = squall_runtime::tempest_conf::Ini::parse(&text);
        let path = self.dir.path().join("tempest.conf");
        std::fs::write(&path, input).map_err(|e| e.to_string())?;
        let config = squall_runtime::CloudConfig::from_tempest_conf(&path);
        let ini_outcome = match ini {
            Ok(ini) => format!("ok {}", ini.sections().count().min(4)),
            Err((_, reason)) => shape(&reason),
        };
        let config_outcome = match config {
            Ok(_) => "ok".to_owned(),
            Err(e) => shape(&e.to_string()),
        };
        Ok(signature((ini_outcome, config_outcome)))
    }
}
