//! Loading: the YAML files of a service's tree, typed with their source positions, and
//! microversion folder names.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, child};
use crate::version::Version;

/// Deserializes a value into its typed view; on failure, the pointer (under `base`) of the
/// offending node and the reason.
pub(crate) fn typed_at<T: DeserializeOwned>(
    value: &Value,
    base: &str,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = base.to_owned();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer = child(&pointer, &index.to_string()),
                Segment::Map { key } => pointer = child(&pointer, key),
                _ => {}
            }
        }
        (pointer, e.inner().to_string())
    })
}

/// Deserializes a file's document into its typed view, pointing errors at the offending node.
pub(crate) fn typed<T: DeserializeOwned>(
    file: &SourceFile,
    value: &Value,
    base: &str,
) -> Result<T, Diagnostic> {
    typed_at(value, base).map_err(|(pointer, message)| file.diagnostic(&pointer, message))
}

pub(crate) fn parse_version(
    file: &SourceFile,
    pointer: &str,
    text: &str,
) -> Result<Version, Diagnostic> {
    Version::parse(text).ok_or_else(|| {
        file.diagnostic(
            pointer,
            format!("invalid microversion {text:?}: expected X.Y"),
        )
    })
}

pub(crate) fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let read = std::fs::read_dir(dir).map_err(|e| Diagnostic {
        file: dir.to_owned(),
        line: None,
        pointer: String::new(),
        message: format!("cannot read directory: {e}"),
    })?;
    let mut files: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}
