//! The `squall` command, as a library: each subcommand is a function that returns its output,
//! so tests call them directly.
//!
//! - [`validate`]: decode a captured response body strictly at a microversion, or list every
//!   violation with its JSON pointer.
//! - [`coverage`]: operations × version spans per service, marked with what a test run reached.
//! - [`openapi`]: one microversion of a service as an OpenAPI 3.1 document.
//! - `squall diff` prints [`squall_gen::diff::describe`].

#![warn(missing_docs)]

pub mod coverage;
pub mod openapi;
pub mod validate;

use std::path::PathBuf;

use squall_runtime::ServiceTable;

/// The operation table of the bundled service named `name`.
pub fn table(name: &str) -> Result<&'static ServiceTable, CliError> {
    squall_clients::TABLES
        .iter()
        .copied()
        .find(|t| t.service.name == name)
        .ok_or_else(|| CliError::Usage(format!("unknown service {name:?}; known: {}", known())))
}

fn known() -> String {
    squall_clients::TABLES
        .iter()
        .map(|t| t.service.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the specs are: `$SQUALL_SPECS`, else the repository's `specs/` this binary was built
/// from, else `./specs`.
pub fn default_specs() -> PathBuf {
    if let Some(dir) = std::env::var_os("SQUALL_SPECS") {
        return dir.into();
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    if built.is_dir() {
        return built;
    }
    PathBuf::from("specs")
}

/// A failure of a subcommand; [`CliError::exit_code`] maps it for scripts.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The body was checked and is not valid (exit code 1).
    #[error("{0}")]
    Invalid(String),
    /// Bad arguments: an unknown service, operation or version (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written, or the specs are broken (exit code 3).
    #[error("{0}")]
    Io(String),
}

impl CliError {
    /// 1 for an invalid body, 2 for bad arguments, 3 for I/O and spec errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => 1,
            Self::Usage(_) => 2,
            Self::Io(_) => 3,
        }
    }
}
