//! squall-gen: OpenStack API specs, kept per microversion, to typed Rust clients.
//!
//! ```no_run
//! let report = squall_gen::Generator::new("specs").out_dir("generated/src").write()?;
//! println!("{report}");
//! # Ok::<(), squall_gen::Error>(())
//! ```
//!
//! The pipeline: load the YAML specs with line numbers ([`source`]) -> resolve every version
//! boundary of every operation ([`resolve`]) -> intern schemas structurally ([`intern`]) -> lower
//! Nova idioms ([`lower`]) -> typify and quote ([`emit`]) -> prettyplease. Nothing here panics on
//! bad input: every problem is a [`Diagnostic`] with file, line and JSON pointer.

pub mod diff;
pub mod emit;
pub mod import;
pub mod intern;
pub mod lower;
pub mod resolve;
pub mod source;
pub mod spec;
pub mod version;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use source::Diagnostic;

/// Everything that can go wrong while generating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem in a spec.
    #[error("{0}")]
    Spec(Diagnostic),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `check`: the generated code on disk differs from what the specs produce.
    #[error("generated code is stale; run `squall-gen generate` (or `cargo build`):\n{0}")]
    Stale(String),
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Self::Spec(d)
    }
}

/// Figures for one service.
#[derive(Debug, Clone)]
pub struct ServiceStats {
    /// The service name.
    pub name: String,
    /// Operations.
    pub operations: usize,
    /// Version boundaries (versions at which something changes).
    pub boundaries: usize,
    /// The service's microversion range.
    pub range: String,
    /// Distinct Rust types.
    pub types: usize,
    /// Sum over operations of the microversions each exists at.
    pub operation_versions: usize,
    /// Lines of generated code.
    pub lines: usize,
}

/// The generated crate source, in memory.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Path relative to the output directory -> content.
    pub files: BTreeMap<String, String>,
    /// Figures per service.
    pub services: Vec<ServiceStats>,
    /// Time taken.
    pub elapsed: Duration,
}

impl fmt::Display for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>10} {:>8} {:>14} {:>7} {:>14} {:>7}",
            "service", "operations", "versions", "range", "types", "op×versions", "lines"
        )?;
        for s in &self.services {
            writeln!(
                f,
                "{:<12} {:>10} {:>8} {:>14} {:>7} {:>14} {:>7}",
                s.name, s.operations, s.boundaries, s.range, s.types, s.operation_versions, s.lines
            )?;
        }
        write!(
            f,
            "generated {} files in {:.1?}",
            self.files.len(),
            self.elapsed
        )
    }
}

/// Generation settings, builder style.
#[derive(Debug, Clone)]
pub struct Generator {
    specs: PathBuf,
    out: PathBuf,
}

/// Services in a spec tree: every folder with a `service.yaml`, sorted.
pub fn service_dirs(specs: &Path) -> Result<Vec<PathBuf>, Error> {
    let read = std::fs::read_dir(specs).map_err(|source| Error::Io {
        path: specs.to_owned(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("service.yaml").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

impl Generator {
    /// Generates from the spec tree at `specs` into `generated/src` (change it with [`out_dir`](Self::out_dir)).
    pub fn new(specs: impl Into<PathBuf>) -> Self {
        Self {
            specs: specs.into(),
            out: PathBuf::from("generated/src"),
        }
    }

    /// Sets the output directory (the generated crate's `src/`, or an `OUT_DIR`).
    pub fn out_dir(mut self, out: impl Into<PathBuf>) -> Self {
        self.out = out.into();
        self
    }

    /// Loads and resolves every service.
    pub fn services(&self) -> Result<Vec<resolve::Service>, Error> {
        service_dirs(&self.specs)?
            .iter()
            .map(|dir| resolve::load_service(dir).map_err(Error::from))
            .collect()
    }

    /// Generates everything in memory.
    pub fn render(&self) -> Result<Generated, Error> {
        let started = Instant::now();
        let mut files = BTreeMap::new();
        let mut stats = Vec::new();
        let services = self.services()?;
        for service in &services {
            let code = emit::generate_service(service)?;
            let lines = code.files.values().map(|f| f.lines().count()).sum();
            stats.push(ServiceStats {
                name: service.def.service.clone(),
                operations: code.operations,
                boundaries: service.boundaries.len(),
                range: format!("{}–{}", service.min, service.max),
                types: code.types,
                operation_versions: code.operation_versions,
                lines,
            });
            files.extend(code.files);
        }
        files.insert("lib.rs".to_owned(), lib_rs(&services));
        Ok(Generated {
            files,
            services: stats,
            elapsed: started.elapsed(),
        })
    }

    /// Generates and writes the files that changed; removes generated files no spec produces.
    pub fn write(&self) -> Result<Generated, Error> {
        let generated = self.render()?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        for (relative, content) in &generated.files {
            let path = self.out.join(relative);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let temp = path.with_extension("rs.tmp");
            std::fs::write(&temp, content).map_err(io(&temp))?;
            std::fs::rename(&temp, &path).map_err(io(&path))?;
        }
        for stale in existing_files(&self.out)? {
            if !generated.files.contains_key(&stale) {
                let path = self.out.join(&stale);
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(generated)
    }

    /// Fails with [`Error::Stale`] and a short summary when the output differs from the specs.
    pub fn check(&self) -> Result<Generated, Error> {
        let generated = self.render()?;
        let mut differences = Vec::new();
        let on_disk = existing_files(&self.out)?;
        for (relative, content) in &generated.files {
            let path = self.out.join(relative);
            match std::fs::read_to_string(&path) {
                Err(_) => differences.push(format!("  missing: {relative}")),
                Ok(current) if current != *content => {
                    let line = current
                        .lines()
                        .zip(content.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or_else(|| current.lines().count().min(content.lines().count()))
                        + 1;
                    differences.push(format!("  differs: {relative} (first at line {line})"));
                }
                Ok(_) => {}
            }
        }
        for relative in on_disk {
            if !generated.files.contains_key(&relative) {
                differences.push(format!("  not generated by any spec: {relative}"));
            }
        }
        if differences.is_empty() {
            Ok(generated)
        } else {
            Err(Error::Stale(differences.join("\n")))
        }
    }
}

/// The `.rs` files under `dir`, relative to it.
fn existing_files(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in read.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs")
                && let Ok(relative) = path.strip_prefix(dir)
            {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn lib_rs(services: &[resolve::Service]) -> String {
    use quote::{format_ident, quote};
    let modules = services.iter().map(|s| {
        let name = format_ident!("{}", s.def.service);
        let doc = s.def.summary.clone().unwrap_or_default();
        quote! {
            #[doc = #doc]
            #[rustfmt::skip]
            pub mod #name;
        }
    });
    let refs = services.iter().map(|s| {
        let name = format_ident!("{}", s.def.service);
        quote!(&#name::SERVICE)
    });
    let tokens = quote! {
        //! squall-clients: typed OpenStack clients generated from squall's per-microversion specs.
        //!
        //! One module per service, one client per resource group, and one response enum per
        //! operation whose variant is chosen by the microversion the server answered.
        pub use squall_runtime as runtime;
        #(#modules)*
        /// Every generated service.
        #[rustfmt::skip]
        pub static SERVICES: &[&squall_runtime::ServiceMeta] = &[#(#refs),*];
    };
    let body = syn::parse2::<syn::File>(tokens)
        .map(|file| prettyplease::unparse(&file))
        .unwrap_or_default();
    format!(
        "// @generated by squall-gen from specs/. Do not edit: change the specs and regenerate.\n{body}"
    )
}
