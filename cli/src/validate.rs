//! `squall validate <service> <operation|METHOD PATH> <version> [file|-]`.

use bytes::Bytes;
use squall_runtime::{Error, Microversion, OperationEntry, ServiceTable, Validation};

use crate::CliError;

/// What was validated and the typed result.
#[derive(Debug)]
pub struct Valid {
    /// `service.operation`.
    pub operation: String,
    /// The version the body was checked at.
    pub version: Microversion,
    /// The schema (Rust type) of the body, `(no body)` for an operation without one.
    pub schema: &'static str,
    /// The typed body, pretty-printed.
    pub typed: String,
}

/// Finds the operation: by name (one word) or by `METHOD PATH` (two words).
pub fn lookup(
    table: &ServiceTable,
    operation: &[String],
    version: Microversion,
) -> Result<&'static OperationEntry, CliError> {
    match operation {
        [name] => table.find(name).ok_or_else(|| {
            CliError::Usage(format!(
                "{} has no operation {name:?} (try `squall coverage --service {}` for the list)",
                table.service.name, table.service.name
            ))
        }),
        [method, path] => table.route(method, path, version).ok_or_else(|| {
            CliError::Usage(format!(
                "no {} operation answers {method} {path} at {version}",
                table.service.name
            ))
        }),
        _ => Err(CliError::Usage(
            "give the operation as a name or as METHOD PATH".to_owned(),
        )),
    }
}

/// Parses a concrete version; `latest` is the newest the bundled specs describe.
pub fn parse_version(table: &ServiceTable, text: &str) -> Result<Microversion, CliError> {
    if text == "latest" {
        return Ok(table.service.max_version);
    }
    let version: Microversion = text
        .parse()
        .map_err(|e| CliError::Usage(format!("bad microversion {text:?}: {e}")))?;
    if !version.within(
        Some(table.service.min_version),
        Some(table.service.max_version),
    ) {
        return Err(CliError::Usage(format!(
            "{} describes {}–{}, not {version}",
            table.service.name, table.service.min_version, table.service.max_version
        )));
    }
    Ok(version)
}

/// Checks `body` strictly as the response of `entry` answered at `version` (and, when given,
/// that `status` is a success status of that version). Every violation is listed with its
/// JSON pointer.
pub fn validate(
    entry: &OperationEntry,
    version: Microversion,
    status: Option<u16>,
    body: Bytes,
) -> Result<Valid, CliError> {
    let op = entry.meta;
    let name = format!("{}.{}", op.service.name, op.name);
    let span = op
        .span_for(version)
        .ok_or_else(|| CliError::Usage(format!("{name} does not exist at {version}")))?;
    if let Some(status) = status
        && !span.statuses.contains(&status)
    {
        return Err(CliError::Invalid(format!(
            "{name} at {version}: status {status} is not one of {:?}",
            span.statuses
        )));
    }
    let schema = op
        .variant_for(version)
        .and_then(|i| op.variants.get(i))
        .and_then(|v| v.body);
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    if schema.is_none() && has_body {
        return Err(CliError::Invalid(format!(
            "{name} at {version}: the response has no body at this version, but one was given"
        )));
    }
    match entry.decode_body(version, body, Validation::Strict) {
        Ok(typed) => Ok(Valid {
            operation: name,
            version,
            schema: schema.map_or("(no body)", |s| s.name),
            typed: format!("{typed:#?}"),
        }),
        Err(Error::Validation {
            pointer,
            message,
            schema,
            violations,
            ..
        }) => {
            let mut lines = vec![format!("{name} at {version}: invalid {schema} body")];
            if violations.is_empty() {
                lines.push(format!("  {}: {message}", show(&pointer)));
            }
            for v in violations {
                lines.push(format!("  {}: {}", show(&v.pointer), v.message));
            }
            Err(CliError::Invalid(lines.join("\n")))
        }
        Err(other) => Err(CliError::Invalid(format!("{name} at {version}: {other}"))),
    }
}

fn show(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}
