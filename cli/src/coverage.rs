//! `squall coverage`: per service, every operation's version spans, each marked with whether a
//! test run reached it against a real service.
//!
//! The runtime appends `service<TAB>operation<TAB>version` lines to the file named by
//! `SQUALL_COVERAGE` (see `squall_runtime::coverage`); `scripts/test` sets it to
//! `target/squall-coverage/calls.tsv`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use squall_runtime::{Microversion, OperationMeta, ServiceTable, Span};

use crate::CliError;

/// The file `scripts/test` records calls in, relative to the workspace.
pub const DEFAULT_CALLS: &str = "target/squall-coverage/calls.tsv";

/// What a run reached: versions per (service, operation).
#[derive(Debug, Default)]
pub struct Calls {
    reached: BTreeMap<(String, String), BTreeSet<Microversion>>,
    /// Operations reached without a version (unversioned resources).
    unversioned: BTreeSet<(String, String)>,
}

impl Calls {
    /// Parses the recorded lines; malformed lines are errors naming the line.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        let mut calls = Self::default();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split('\t').collect();
            let [service, operation, version] = parts.as_slice() else {
                return Err(CliError::Io(format!(
                    "line {}: expected service<TAB>operation<TAB>version, got {line:?}",
                    index + 1
                )));
            };
            let key = ((*service).to_owned(), (*operation).to_owned());
            if *version == "-" {
                calls.unversioned.insert(key);
                continue;
            }
            let version: Microversion = version
                .parse()
                .map_err(|e| CliError::Io(format!("line {}: {e}", index + 1)))?;
            calls.reached.entry(key).or_default().insert(version);
        }
        Ok(calls)
    }

    /// Reads a calls file; a missing file means nothing was recorded.
    pub fn load(path: &Path) -> Result<Self, CliError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::Io(format!("{}: {e}", path.display()))),
        }
    }
}

/// One span of one operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SpanCoverage {
    /// First version.
    pub min: String,
    /// Last version; `None` is latest.
    pub max: Option<String>,
    /// The versions a test reached in this span.
    pub reached: Vec<String>,
}

/// One operation.
#[derive(Debug, Clone, Serialize)]
pub struct OperationCoverage {
    /// The operation (`create_keypair`).
    pub name: String,
    /// Its group (`keypairs`).
    pub group: String,
    /// Its spans: where its method, path, statuses or response type change.
    pub spans: Vec<SpanCoverage>,
}

/// One service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceCoverage {
    /// The service (`compute`).
    pub service: String,
    /// Every operation.
    pub operations: Vec<OperationCoverage>,
    /// Spans reached.
    pub spans_reached: usize,
    /// Spans in all.
    pub spans_total: usize,
    /// Operations reached at some version.
    pub operations_reached: usize,
}

/// The spans of an operation: a new span wherever its request side or response variant
/// changes.
pub fn spans(op: &OperationMeta) -> Vec<Span> {
    let mut starts: Vec<Microversion> = op
        .spans
        .iter()
        .map(|s| s.span.min)
        .chain(op.variants.iter().map(|v| v.span.min))
        .collect();
    starts.sort();
    starts.dedup();
    let end = op.range().and_then(|r| r.max);
    starts
        .iter()
        .enumerate()
        .map(|(i, &min)| {
            let max = match starts.get(i + 1) {
                Some(next) if next.major == min.major && next.minor > 0 => {
                    Some(Microversion::new(next.major, next.minor - 1))
                }
                Some(_) => Some(min),
                None => end,
            };
            Span { min, max }
        })
        .filter(|s| s.max.is_none_or(|max| max >= s.min))
        .collect()
}

/// The matrix of `table`'s operations against what `calls` reached.
pub fn matrix(table: &ServiceTable, calls: &Calls) -> ServiceCoverage {
    let service = table.service.name;
    let mut operations = Vec::new();
    let (mut spans_reached, mut spans_total, mut operations_reached) = (0, 0, 0);
    for entry in table.operations() {
        let key = (service.to_owned(), entry.meta.name.to_owned());
        let versions = calls.reached.get(&key);
        let unversioned = calls.unversioned.contains(&key);
        let spans: Vec<SpanCoverage> = spans(entry.meta)
            .into_iter()
            .map(|span| {
                let mut reached: Vec<String> = versions
                    .into_iter()
                    .flatten()
                    .filter(|v| span.contains(**v))
                    .map(ToString::to_string)
                    .collect();
                if unversioned && reached.is_empty() && !entry.meta.versioned {
                    reached.push("-".to_owned());
                }
                SpanCoverage {
                    min: span.min.to_string(),
                    max: span.max.map(|m| m.to_string()),
                    reached,
                }
            })
            .collect();
        spans_total += spans.len();
        let hit = spans.iter().filter(|s| !s.reached.is_empty()).count();
        spans_reached += hit;
        if hit > 0 {
            operations_reached += 1;
        }
        operations.push(OperationCoverage {
            name: entry.meta.name.to_owned(),
            group: entry.group.to_owned(),
            spans,
        });
    }
    ServiceCoverage {
        service: service.to_owned(),
        operations,
        spans_reached,
        spans_total,
        operations_reached,
    }
}

/// The matrix as text: one line per operation, `[x]` for a span reached, `[ ]` for one not.
pub fn render_text(services: &[ServiceCoverage]) -> String {
    let mut out = String::new();
    for s in services {
        out.push_str(&format!(
            "{}: {}/{} operations reached, {}/{} version spans\n",
            s.service,
            s.operations_reached,
            s.operations.len(),
            s.spans_reached,
            s.spans_total
        ));
        let width = s.operations.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for op in &s.operations {
            let cells: Vec<String> = op
                .spans
                .iter()
                .map(|span| {
                    let mark = if span.reached.is_empty() { ' ' } else { 'x' };
                    let range = match &span.max {
                        Some(max) if *max == span.min => span.min.clone(),
                        Some(max) => format!("{}–{max}", span.min),
                        None => format!("{}–latest", span.min),
                    };
                    format!("[{mark}] {range}")
                })
                .collect();
            out.push_str(&format!(
                "  {:width$}  {}\n",
                op.name,
                cells.join("  "),
                width = width
            ));
        }
    }
    out
}
