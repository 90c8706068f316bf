//! Resolving a service's spec tree (`load`ed, then `patch`ed version by
//! version) into complete operations per version span.
//!
//! Each version folder is applied in order: base files define groups, change files patch them.
//! After every version the group documents are snapshotted, `$ref`s are inlined, and each
//! operation's facets are recorded. Consecutive versions with equal facets merge into one span.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::load::{parse_version, typed, typed_at, yaml_files};
use crate::patch::{patch_add, patch_remove, patch_replace};
use crate::source::{Diagnostic, SourceFile, child};
use crate::spec::{Change, ChangeFile, GroupFile, Method, Operation, ServiceFile};
use crate::version::{Span, Version};

/// The key that records which named schema an inlined subtree came from.
pub const NAME_KEY: &str = "x-squall-name";

/// A resolved service.
#[derive(Debug)]
pub struct Service {
    /// The parsed `service.yaml`.
    pub def: ServiceFile,
    /// The service's range.
    pub min: Version,
    /// The service's range.
    pub max: Version,
    /// The default version.
    pub default: Version,
    /// Versions at which some file changes something.
    pub boundaries: Vec<Version>,
    /// Groups by name.
    pub groups: BTreeMap<String, Group>,
    /// Every spec file of the service, for diagnostics.
    pub files: Vec<SourceFile>,
}

/// A resolved group of operations (one client).
#[derive(Debug)]
pub struct Group {
    /// The group name (`keypairs`).
    pub name: String,
    /// Its summary.
    pub summary: Option<String>,
    /// Change summaries by version.
    pub changes: BTreeMap<Version, String>,
    /// Operations by name.
    pub operations: BTreeMap<String, ResolvedOperation>,
}

/// An operation with its facets per version span.
#[derive(Debug)]
pub struct ResolvedOperation {
    /// The operation name.
    pub name: String,
    /// Spans in version order; consecutive spans differ in some facet.
    pub spans: Vec<OperationSpan>,
}

/// The facets of an operation over one span of versions.
#[derive(Debug, Clone)]
pub struct OperationSpan {
    /// The versions covered.
    pub span: Span,
    /// The facets.
    pub facets: Facets,
    /// Where each schema facet was defined (file index, pointer in that file).
    pub origins: FacetOrigins,
}

/// Where schema facets come from, for diagnostics about them.
#[derive(Debug, Clone, Default)]
pub struct FacetOrigins {
    /// The query schema's location.
    pub query: Option<Location>,
    /// The request schema's location.
    pub request: Option<Location>,
    /// The body schema's location.
    pub body: Option<Location>,
}

/// A location in one of the service's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Index into [`Service::files`].
    pub file: usize,
    /// JSON pointer in that file.
    pub pointer: String,
}

/// Everything about an operation that can change at a microversion, with schemas inlined.
#[derive(Debug, Clone, PartialEq)]
pub struct Facets {
    /// One line about the operation.
    pub summary: Option<String>,
    /// The HTTP method.
    pub method: Method,
    /// The path template.
    pub path: String,
    /// The query schema.
    pub query: Option<Value>,
    /// The request body schema.
    pub request: Option<Value>,
    /// Success statuses.
    pub statuses: Vec<u16>,
    /// The response body schema.
    pub body: Option<Value>,
    /// Response headers that matter.
    pub headers: Vec<String>,
    /// Expected error statuses.
    pub errors: Vec<u16>,
    /// Relative to the service root.
    pub root: bool,
    /// Microversion headers sent and checked.
    pub versioned: bool,
    /// Request headers the caller supplies: header name -> argument name.
    pub request_headers: Vec<(String, String)>,
}

/// An operation's facets at one boundary.
type Snapshot = (Version, Facets, FacetOrigins);

/// Where a part of a group document came from.
#[derive(Debug, Clone)]
struct Origin {
    doc_prefix: String,
    file: usize,
    file_prefix: String,
}

#[derive(Debug)]
struct GroupState {
    doc: Value,
    origins: Vec<Origin>,
    summary: Option<String>,
    changes: BTreeMap<Version, String>,
}

fn is_prefix(prefix: &str, pointer: &str) -> bool {
    pointer == prefix || (pointer.starts_with(prefix) && pointer[prefix.len()..].starts_with('/'))
}

impl GroupState {
    /// Maps a pointer in the group document to the file location that defined it.
    fn locate(&self, doc_pointer: &str) -> Location {
        for origin in self.origins.iter().rev() {
            if is_prefix(&origin.doc_prefix, doc_pointer) {
                return Location {
                    file: origin.file,
                    pointer: format!(
                        "{}{}",
                        origin.file_prefix,
                        &doc_pointer[origin.doc_prefix.len()..]
                    ),
                };
            }
        }
        Location {
            file: self.origins.first().map_or(0, |o| o.file),
            pointer: doc_pointer.to_owned(),
        }
    }
}

struct Loader {
    files: Vec<SourceFile>,
}

impl Loader {
    fn diag(&self, loc: &Location, message: impl Into<String>) -> Diagnostic {
        self.files[loc.file].diagnostic(&loc.pointer, message)
    }

    fn push(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }
}

/// Loads and resolves the service in `dir` (which holds `service.yaml`).
pub fn load_service(dir: &Path) -> Result<Service, Diagnostic> {
    let mut loader = Loader { files: Vec::new() };
    let service_file = SourceFile::load(&dir.join("service.yaml"))?;
    let mut def: ServiceFile = typed(&service_file, &service_file.value, "")?;
    if !def.microversions {
        unversioned(dir, &service_file, &mut def)?;
    }
    let min = parse_version(&service_file, "/min_version", &def.min_version)?;
    let max = parse_version(&service_file, "/max_version", &def.max_version)?;
    let default = parse_version(&service_file, "/default_version", &def.default_version)?;
    if min > max {
        return Err(service_file.diagnostic(
            "/max_version",
            format!("max_version {max} is below min_version {min}"),
        ));
    }
    for (i, header) in def.microversion_headers.request.iter().enumerate() {
        if def.microversions && !header.format.contains("{version}") {
            return Err(service_file.diagnostic(
                &format!("/microversion_headers/request/{i}/format"),
                "the format must contain {version}",
            ));
        }
    }
    if def.microversions
        && !def
            .microversion_headers
            .response
            .format
            .contains("{version}")
    {
        return Err(service_file.diagnostic(
            "/microversion_headers/response/format",
            "the format must contain {version}",
        ));
    }
    loader.push(service_file);

    // Version folders, in version order.
    let mut folders = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Diagnostic {
        file: dir.to_owned(),
        line: None,
        pointer: String::new(),
        message: format!("cannot read directory: {e}"),
    })?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let files = yaml_files(&path)?;
        let first = files.first().cloned().unwrap_or_else(|| path.clone());
        let parsed = if def.microversions {
            Version::parse(&name)
        } else {
            api_folder(&name)
        };
        let Some(version) = parsed else {
            let want = if def.microversions {
                "a microversion X.Y"
            } else {
                "the API version vN (the service has no microversions)"
            };
            return Err(Diagnostic {
                file: first,
                line: Some(1),
                pointer: String::new(),
                message: format!("version folder {name:?} is not {want}"),
            });
        };
        if version < min || version > max {
            return Err(Diagnostic {
                file: first,
                line: Some(1),
                pointer: String::new(),
                message: format!(
                    "version {version} is outside the service's range {min}–{max} (service.yaml)"
                ),
            });
        }
        folders.insert(version, files);
    }

    let mut states: BTreeMap<String, GroupState> = BTreeMap::new();
    let mut history: BTreeMap<String, BTreeMap<String, Vec<Snapshot>>> = BTreeMap::new();
    let boundaries: Vec<Version> = folders.keys().copied().collect();

    let microversions = def.microversions;
    for (version, paths) in &folders {
        for path in paths {
            let file = SourceFile::load(path)?;
            let group = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let index = loader.push(file);
            apply_file(&loader, index, &group, *version, &mut states)?;
        }
        for (group, state) in &states {
            let mut ops = snapshot(&loader, state)?;
            if !microversions {
                for (facets, _) in ops.values_mut() {
                    facets.versioned = false;
                }
            }
            let group_history = history.entry(group.clone()).or_default();
            for (name, (facets, origins)) in ops {
                group_history
                    .entry(name)
                    .or_default()
                    .push((*version, facets, origins));
            }
        }
    }

    let mut groups = BTreeMap::new();
    for (name, state) in states {
        let mut operations = BTreeMap::new();
        for (op_name, entries) in history.remove(&name).unwrap_or_default() {
            let spans = merge_spans(&loader, &op_name, &boundaries, entries)?;
            operations.insert(
                op_name.clone(),
                ResolvedOperation {
                    name: op_name,
                    spans,
                },
            );
        }
        groups.insert(
            name.clone(),
            Group {
                name,
                summary: state.summary,
                changes: state.changes,
                operations,
            },
        );
    }
    Ok(Service {
        def,
        min,
        max,
        default,
        boundaries,
        groups,
        files: loader.files,
    })
}

/// `vN` -> the internal version N.0 of a service without microversions.
fn api_folder(name: &str) -> Option<Version> {
    let major = name.strip_prefix('v')?;
    if major.is_empty() || major.starts_with('0') || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Version {
        major: major.parse().ok()?,
        minor: 0,
    })
}

/// A service without microversions: no version fields or headers, one `vN` folder, whose N.0
/// becomes the service's only (internal) version.
fn unversioned(dir: &Path, file: &SourceFile, def: &mut ServiceFile) -> Result<(), Diagnostic> {
    for (pointer, value) in [
        ("/min_version", &def.min_version),
        ("/max_version", &def.max_version),
        ("/default_version", &def.default_version),
    ] {
        if !value.is_empty() {
            return Err(file.diagnostic(
                pointer,
                "a service with `microversions: false` has no version range",
            ));
        }
    }
    if file.value.get("microversion_headers").is_some() {
        return Err(file.diagnostic(
            "/microversion_headers",
            "a service with `microversions: false` has no microversion headers",
        ));
    }
    let folders: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| file.diagnostic("", format!("cannot read {}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let [folder] = folders.as_slice() else {
        return Err(file.diagnostic(
            "/microversions",
            format!(
                "a service without microversions has exactly one folder, named after its API \
                 version (v3); found {folders:?}"
            ),
        ));
    };
    let Some(version) = api_folder(folder) else {
        return Err(file.diagnostic(
            "/microversions",
            format!("folder {folder:?} is not named after the API version (v3)"),
        ));
    };
    let text = version.to_string();
    def.min_version = text.clone();
    def.max_version = text.clone();
    def.default_version = text;
    Ok(())
}

/// Applies one file (base or changes) to the group states.
fn apply_file(
    loader: &Loader,
    index: usize,
    group: &str,
    version: Version,
    states: &mut BTreeMap<String, GroupState>,
) -> Result<(), Diagnostic> {
    let file = &loader.files[index];
    let is_changes = file.value.get("changes").is_some();
    if !is_changes {
        let base: GroupFile = typed(file, &file.value, "")?;
        if states.contains_key(group) {
            return Err(file.diagnostic(
                "",
                format!("group {group} is already defined at an earlier version; state changes with `changes:`"),
            ));
        }
        states.insert(
            group.to_owned(),
            GroupState {
                doc: file.value.clone(),
                origins: vec![Origin {
                    doc_prefix: String::new(),
                    file: index,
                    file_prefix: String::new(),
                }],
                summary: base.summary,
                changes: BTreeMap::new(),
            },
        );
        return Ok(());
    }
    let changes: ChangeFile = typed(file, &file.value, "")?;
    let Some(state) = states.get_mut(group) else {
        return Err(file.diagnostic(
            "/changes",
            format!("changes to group {group}, which no earlier version defines"),
        ));
    };
    if let Some(summary) = &changes.summary {
        state.changes.insert(version, summary.trim().to_owned());
    }
    for (i, change) in changes.changes.iter().enumerate() {
        let at = format!("/changes/{i}");
        let (path, value) = match change {
            Change::Add { path, value } | Change::Replace { path, value } => (path, Some(value)),
            Change::Remove { path } => (path, None),
        };
        let applied = match change {
            Change::Add { .. } => {
                patch_add(&mut state.doc, path, value.cloned().unwrap_or(Value::Null))
            }
            Change::Replace { .. } => {
                patch_replace(&mut state.doc, path, value.cloned().unwrap_or(Value::Null))
            }
            Change::Remove { .. } => patch_remove(&mut state.doc, path),
        };
        let resolved = applied.map_err(|reason| {
            file.diagnostic(
                &format!("{at}/path"),
                format!("{reason} in group {group} at {version}"),
            )
        })?;
        if value.is_some() {
            state.origins.push(Origin {
                doc_prefix: resolved,
                file: index,
                file_prefix: format!("{at}/value"),
            });
        }
    }
    Ok(())
}

/// Reads every operation of a group document, with its schemas inlined.
fn snapshot(
    loader: &Loader,
    state: &GroupState,
) -> Result<BTreeMap<String, (Facets, FacetOrigins)>, Diagnostic> {
    let mut out = BTreeMap::new();
    let Some(operations) = state.doc.get("operations").and_then(Value::as_object) else {
        return Ok(out);
    };
    let schemas = state
        .doc
        .get("schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, raw) in operations {
        let at = child("/operations", name);
        let loc = state.locate(&at);
        let op: Operation = typed_at(raw, &at).map_err(|(pointer, message)| {
            loader.diag(
                &state.locate(&pointer),
                format!("operation {name}: {message}"),
            )
        })?;
        if !is_snake_case(name) {
            return Err(loader.diag(&loc, format!("operation name {name:?} must be snake_case")));
        }
        let mut origins = FacetOrigins::default();
        let inline_facet = |value: &Option<Value>, facet: &str, slot: &mut Option<Location>| {
            value
                .as_ref()
                .map(|v| {
                    let pointer = format!("{at}/{facet}");
                    *slot = Some(state.locate(&pointer));
                    inline(loader, state, &schemas, v, &pointer, &mut Vec::new())
                })
                .transpose()
        };
        let query = inline_facet(&op.query, "query", &mut origins.query)?;
        let request = inline_facet(&op.request, "request", &mut origins.request)?;
        let body = inline_facet(&op.response.body, "response/body", &mut origins.body)?;
        if op.response.status.is_empty() {
            return Err(loader.diag(
                &state.locate(&format!("{at}/response/status")),
                "at least one success status is required",
            ));
        }
        out.insert(
            name.clone(),
            (
                Facets {
                    summary: op.summary.map(|s| s.trim().to_owned()),
                    method: op.method,
                    path: op.path,
                    query,
                    request,
                    statuses: op.response.status,
                    body,
                    headers: op.response.headers,
                    errors: op.errors,
                    root: op.root,
                    versioned: op.versioned,
                    request_headers: op
                        .request_headers
                        .iter()
                        .map(|(h, a)| (h.clone(), a.clone()))
                        .collect(),
                },
                origins,
            ),
        );
    }
    Ok(out)
}

fn is_snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Inlines every `$ref` in `value`, tagging each inlined subtree with its schema name.
fn inline(
    loader: &Loader,
    state: &GroupState,
    schemas: &Map<String, Value>,
    value: &Value,
    pointer: &str,
    stack: &mut Vec<String>,
) -> Result<Value, Diagnostic> {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref") {
                let ref_pointer = format!("{pointer}/$ref");
                let loc = state.locate(&ref_pointer);
                let Some(name) = reference
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/schemas/"))
                else {
                    return Err(loader.diag(
                        &loc,
                        format!("unsupported $ref {reference}: use '#/schemas/<Name>'"),
                    ));
                };
                let Some(target) = schemas.get(name) else {
                    return Err(loader.diag(&loc, format!("unknown $ref '#/schemas/{name}'")));
                };
                if stack.iter().any(|s| s == name) {
                    return Err(loader.diag(
                        &loc,
                        format!("recursive $ref through {}", stack.join(" -> ")),
                    ));
                }
                stack.push(name.to_owned());
                let mut resolved = inline(
                    loader,
                    state,
                    schemas,
                    target,
                    &child("/schemas", name),
                    stack,
                )?;
                stack.pop();
                if let Value::Object(m) = &mut resolved {
                    m.entry(NAME_KEY)
                        .or_insert_with(|| Value::String(name.to_owned()));
                }
                return Ok(resolved);
            }
            let mut out = Map::with_capacity(map.len());
            for (key, item) in map {
                out.insert(
                    key.clone(),
                    inline(loader, state, schemas, item, &child(pointer, key), stack)?,
                );
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                inline(
                    loader,
                    state,
                    schemas,
                    item,
                    &child(pointer, &i.to_string()),
                    stack,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Turns per-boundary facets into spans, merging consecutive equal ones.
fn merge_spans(
    loader: &Loader,
    op: &str,
    boundaries: &[Version],
    entries: Vec<(Version, Facets, FacetOrigins)>,
) -> Result<Vec<OperationSpan>, Diagnostic> {
    let mut spans: Vec<OperationSpan> = Vec::new();
    let mut last_version: Option<Version> = None;
    for (version, facets, origins) in entries {
        // The boundary after the previous entry: `version` itself, unless the operation was
        // absent at some boundary in between (removed, then added back).
        let next_boundary = last_version
            .and_then(|last| boundaries.iter().copied().find(|b| *b > last))
            .unwrap_or(version);
        let gap = next_boundary < version;
        match spans.last_mut() {
            Some(current) if !gap && current.facets == facets => {}
            _ => {
                if let Some(current) = spans.last_mut()
                    && current.span.max.is_none()
                {
                    current.span.max = Some(close_before(loader, op, &origins, next_boundary)?);
                }
                spans.push(OperationSpan {
                    span: Span {
                        min: version,
                        max: None,
                    },
                    facets,
                    origins,
                });
            }
        }
        last_version = Some(version);
    }
    // An operation removed at a later boundary ends just before it.
    if let (Some(last), Some(current)) = (last_version, spans.last_mut())
        && let Some(next) = boundaries.iter().find(|b| **b > last)
    {
        let origins = current.origins.clone();
        current.span.max = Some(close_before(loader, op, &origins, *next)?);
    }
    Ok(spans)
}

fn close_before(
    loader: &Loader,
    op: &str,
    origins: &FacetOrigins,
    next: Version,
) -> Result<Version, Diagnostic> {
    next.predecessor().ok_or_else(|| {
        let loc = origins
            .body
            .clone()
            .or(origins.request.clone())
            .unwrap_or(Location {
                file: 0,
                pointer: String::new(),
            });
        loader.diag(
            &loc,
            format!("{op}: a span cannot end before {next} (a new major version)"),
        )
    })
}
