//! `squall-gen import`: a service's own API declaration (a dump from `scripts/dump/`) plus
//! hand-written overlays -> specs in squall's format.
//!
//! Per group: a base file at the version where its first operation appears, a JSON Patch change
//! file at each later version where something changes, each with a summary generated from the
//! patch (or given by the overlay). Output is a pure function of dump + overlay, so importing
//! twice changes nothing, and [`check`] proves that `specs/` holds exactly that.
//!
//! Imported files start with [`HEADER`]; files without it are hand-written and never touched.

pub mod dump;
pub mod names;
pub mod overlay;
pub mod patch;
mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use crate::source::{Diagnostic, SourceFile};
use crate::spec::{Method, ServiceFile};
use crate::version::Version;

use dump::{Codes, Dump, DumpOperation, Variant};
use overlay::{Facet, LoadedOverlay, PatchOp};
use patch::Edit;

/// The first line of every imported file.
pub const HEADER: &str = "# Imported by `squall-gen import`";

/// The file that lists operations a service removed (they answer 410 at every version).
pub const REMOVED_FILE: &str = "removed.yaml";

/// What to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The service (`compute`): the folder under `specs`.
    pub service: String,
    /// The dump file.
    pub dump: PathBuf,
    /// The spec tree.
    pub specs: PathBuf,
    /// The overlay; default `<specs>/<service>/overlay.yaml` when it exists.
    pub overlay: Option<PathBuf>,
}

impl Options {
    fn service_dir(&self) -> PathBuf {
        self.specs.join(&self.service)
    }

    fn overlay_path(&self) -> Option<PathBuf> {
        match &self.overlay {
            Some(p) => Some(p.clone()),
            None => {
                let p = self.service_dir().join("overlay.yaml");
                p.is_file().then_some(p)
            }
        }
    }
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A problem in the dump, the overlay or a spec.
    #[error("{0}")]
    Spec(Diagnostic),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// `check` found `specs/` different from dump + overlay.
    #[error("{0}")]
    Stale(String),
}

impl From<Diagnostic> for ImportError {
    fn from(d: Diagnostic) -> Self {
        Self::Spec(d)
    }
}

fn io(path: &Path, e: impl fmt::Display) -> ImportError {
    ImportError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// What an import produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The service.
    pub service: String,
    /// Imported operations (live).
    pub operations: usize,
    /// Operations the service removed, listed in `removed.yaml`.
    pub removed: usize,
    /// Operations left out: no response schema declared.
    pub undeclared: usize,
    /// Operations left out by the overlay (skip, skip_groups).
    pub skipped: usize,
    /// Groups.
    pub groups: usize,
    /// Files (relative to the service folder) and their line counts.
    pub files: BTreeMap<PathBuf, usize>,
    /// Version folders written.
    pub boundaries: usize,
    /// Files written, removed or left unchanged by the last write.
    pub written: usize,
    /// Stale imported files deleted by the last write.
    pub deleted: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: usize = self.files.values().sum();
        write!(
            f,
            "{}: {} operations in {} groups ({} removed listed in {REMOVED_FILE}; {} without a \
             response schema and {} skipped by the overlay left out); {} files, {} lines, {} \
             version folders",
            self.service,
            self.operations,
            self.groups,
            self.removed,
            self.undeclared,
            self.skipped,
            self.files.len(),
            lines,
            self.boundaries
        )
    }
}

/// The service's version axis.
#[derive(Debug, Clone)]
struct Axis {
    min: Version,
    max: Version,
    /// For services without microversions: the one folder's name (`v3`).
    folder: Option<String>,
}

impl Axis {
    fn folder(&self, v: Version) -> String {
        self.folder.clone().unwrap_or_else(|| v.to_string())
    }

    fn next(&self, v: Version) -> Option<Version> {
        (v < self.max).then_some(Version {
            major: v.major,
            minor: v.minor + 1,
        })
    }
}

/// A value over an inclusive version range.
#[derive(Debug, Clone)]
struct Ranged<T> {
    min: Version,
    max: Version,
    value: T,
}

impl<T> Ranged<T> {
    fn contains(&self, v: Version) -> bool {
        self.min <= v && v <= self.max
    }
}

/// An operation ready to be written.
#[derive(Debug, Clone)]
struct Op {
    key: String,
    name: String,
    group: String,
    summary: Option<String>,
    method: Method,
    path: String,
    root: bool,
    /// Sends no microversion headers (an unversioned root document).
    unversioned: bool,
    life: (Version, Version),
    query: Vec<Ranged<Value>>,
    request: Vec<Ranged<Value>>,
    response: Vec<Ranged<Value>>,
    status: Vec<Ranged<Vec<u16>>>,
    errors: Vec<Ranged<Vec<u16>>>,
    status_override: Option<Vec<u16>>,
}

impl Op {
    fn schema_name(&self, facet: Facet) -> String {
        let base = self.name.to_upper_camel_case();
        match facet {
            Facet::Query => format!("{base}Query"),
            Facet::Request => format!("{base}Request"),
            Facet::Response => format!("{base}Response"),
        }
    }

    fn change_points(&self, axis: &Axis, all: &mut BTreeSet<Version>) {
        let mut mine = BTreeSet::new();
        let out = &mut mine;
        out.insert(self.life.0);
        out.extend(axis.next(self.life.1));
        let mut add = |min: Version, max: Version| {
            out.insert(min);
            out.extend(axis.next(max));
        };
        for r in self.query.iter().chain(&self.request).chain(&self.response) {
            add(r.min, r.max);
        }
        for r in self.status.iter().chain(&self.errors) {
            add(r.min, r.max);
        }
        all.extend(
            mine.into_iter()
                .filter(|v| *v >= self.life.0 && *v <= axis.max),
        );
    }

    fn alive(&self, v: Version) -> bool {
        self.life.0 <= v && v <= self.life.1
    }

    /// The operation's document and its schemas at `v`.
    fn document(&self, v: Version) -> (Value, Vec<(String, Value)>) {
        fn at(list: &[Ranged<Value>], v: Version) -> Option<&Value> {
            list.iter().find(|r| r.contains(v)).map(|r| &r.value)
        }
        let codes = |list: &[Ranged<Vec<u16>>]| -> Vec<u16> {
            let set: BTreeSet<u16> = list
                .iter()
                .filter(|r| r.contains(v))
                .flat_map(|r| r.value.iter().copied())
                .collect();
            set.into_iter().collect()
        };
        let mut schemas = Vec::new();
        let mut doc = Map::new();
        if let Some(s) = &self.summary {
            doc.insert("summary".into(), json!(s));
        }
        doc.insert("method".into(), json!(self.method.as_str()));
        doc.insert("path".into(), json!(self.path));
        let mut reference = |facet: Facet, schema: &Value| {
            let name = self.schema_name(facet);
            schemas.push((name.clone(), schema.clone()));
            json!({"$ref": format!("#/schemas/{name}")})
        };
        if let Some(q) = at(&self.query, v) {
            doc.insert("query".into(), reference(Facet::Query, q));
        }
        if let Some(r) = at(&self.request, v) {
            doc.insert("request".into(), reference(Facet::Request, r));
        }
        let mut response = Map::new();
        let status = match &self.status_override {
            Some(s) => s.clone(),
            None => {
                let s = codes(&self.status);
                if s.is_empty() { vec![200] } else { s }
            }
        };
        response.insert("status".into(), json!(status));
        if let Some(body) = at(&self.response, v).filter(|b| !is_null_schema(b)) {
            response.insert("body".into(), reference(Facet::Response, body));
        }
        doc.insert("response".into(), Value::Object(response));
        let errors = codes(&self.errors);
        if !errors.is_empty() {
            doc.insert("errors".into(), json!(errors));
        }
        if self.root {
            doc.insert("root".into(), json!(true));
        }
        if self.unversioned {
            doc.insert("versioned".into(), json!(false));
        }
        (Value::Object(doc), schemas)
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// The planned content of a service folder.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// File (relative to the service folder) -> text.
    pub files: BTreeMap<PathBuf, String>,
    /// The report.
    pub report: Report,
    /// The overlay's path, for messages.
    pub overlay: Option<PathBuf>,
}

struct Context<'a> {
    dump: &'a Dump,
    dump_path: &'a Path,
    overlay: &'a LoadedOverlay,
    axis: Axis,
}

fn clamp(
    ctx: &Context<'_>,
    pointer: &str,
    min: &Option<String>,
    max: &Option<String>,
) -> Result<Option<(Version, Version)>, Diagnostic> {
    let parse = |suffix: &str, text: &Option<String>| {
        text.as_ref()
            .map(|t| dump::version(ctx.dump_path, &format!("{pointer}/{suffix}"), t))
            .transpose()
    };
    let lo = parse("min", min)?.unwrap_or(ctx.axis.min).max(ctx.axis.min);
    let hi = parse("max", max)?.unwrap_or(ctx.axis.max).min(ctx.axis.max);
    Ok((lo <= hi).then_some((lo, hi)))
}

fn ranged_schemas(
    ctx: &Context<'_>,
    pointer: &str,
    variants: &[Variant],
) -> Result<Vec<Ranged<Value>>, Diagnostic> {
    let mut out = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        if let Some((min, max)) = clamp(ctx, &format!("{pointer}/{i}"), &v.min, &v.max)? {
            let mut value = v.schema.clone();
            strip_prose(&mut value);
            out.push(Ranged { min, max, value });
        }
    }
    Ok(out)
}

/// Drops the service's own prose (`description`, `title`) from a schema: the facts carry over,
/// the words do not (summaries and docs come from the overlay). Property *names* such as a
/// resource's `description` field stay. Also writes what a later draft says the draft-4 way:
/// no empty `required`, boolean `exclusiveMinimum`/`exclusiveMaximum`.
fn strip_prose(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for keyword in ["description", "title"] {
                if map.get(keyword).is_some_and(Value::is_string) {
                    map.remove(keyword);
                }
            }
            // The specs are draft 4: a numeric `exclusiveMinimum` (draft 6 and later, as some of
            // Nova's schemas write it) becomes the bound plus `true`.
            for (exclusive, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(limit) = map.get(exclusive).filter(|v| v.is_number()).cloned() {
                    map.insert(bound.to_owned(), limit);
                    map.insert(exclusive.to_owned(), Value::Bool(true));
                }
            }
            // `required: []` says nothing, and Draft 4 refuses it.
            if map
                .get("required")
                .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty))
            {
                map.remove("required");
            }
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    // Maps from names to schemas: each value is a schema, no key is a keyword.
                    "properties" | "patternProperties" | "definitions" | "$defs" => {
                        if let Value::Object(members) = value {
                            members.values_mut().for_each(strip_prose);
                        }
                    }
                    "enum" | "const" | "default" | "examples" | "required" => {}
                    _ => strip_prose(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_prose),
        _ => {}
    }
}

fn ranged_codes(
    ctx: &Context<'_>,
    pointer: &str,
    entries: &[Codes],
) -> Result<Vec<Ranged<Vec<u16>>>, Diagnostic> {
    let mut out = Vec::new();
    for (i, c) in entries.iter().enumerate() {
        if let Some((min, max)) = clamp(ctx, &format!("{pointer}/{i}"), &c.min, &c.max)? {
            out.push(Ranged {
                min,
                max,
                value: c.codes.clone(),
            });
        }
    }
    Ok(out)
}

/// The group of a path by the overlay's prefixes (longest first), else the default.
fn group_of(overlay: &overlay::Overlay, path: &str) -> String {
    overlay
        .groups
        .iter()
        .filter(|(prefix, _)| {
            path == prefix.as_str()
                || (path.starts_with(prefix.as_str()) && path[prefix.len()..].starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or_else(|| names::default_group(path), |(_, g)| g.clone())
}

/// Applies the overlay's schema patches to an operation's variants.
/// Splits the variant that spans `at` (from before it) into one that ends just before `at` and
/// one that starts there.
fn split_at(variants: &mut Vec<Ranged<Value>>, at: Version) {
    let Some(i) = variants.iter().position(|v| v.min < at && at <= v.max) else {
        return;
    };
    let Some(minor) = at.minor.checked_sub(1) else {
        return;
    };
    let mut later = variants[i].clone();
    later.min = at;
    variants[i].max = Version {
        major: at.major,
        minor,
    };
    variants.insert(i + 1, later);
}

/// Where an operation declares a request body at some versions but not at others, the
/// service does not validate the body there (Nova's `unlock` from 2.73): those versions get an
/// open object, so the typed client can still send one.
fn fill_request_gaps(axis: &Axis, op: &mut Op) {
    if op.request.is_empty() {
        return;
    }
    op.request.sort_by_key(|r| r.min);
    let mut gaps = Vec::new();
    let mut next = Some(op.life.0);
    for r in &op.request {
        if let Some(from) = next.filter(|from| *from < r.min) {
            if let Some(to) = r.min.predecessor() {
                gaps.push((from, to));
            }
        }
        next = axis.next(r.max).filter(|n| *n > r.max);
        if r.max >= op.life.1 {
            next = None;
        }
    }
    if let Some(from) = next.filter(|from| *from <= op.life.1) {
        gaps.push((from, op.life.1));
    }
    for (min, max) in gaps {
        op.request.push(Ranged {
            min,
            max,
            value: json!({"type": "object"}),
        });
    }
    op.request.sort_by_key(|r| r.min);
}

/// Applies the overlay's `narrow_types` everywhere in a request or query schema.
fn narrow(rules: &[overlay::Narrowing], schema: &mut Value) {
    if rules.is_empty() {
        return;
    }
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get("type") {
                let declared: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                // A string enum value that is no spelling of the narrowed type makes a real
                // union (Nova's `block_migration`: true, false or "auto"): leave it alone.
                let spells = |to: &Value, text: &str| match to.as_str() {
                    Some("boolean") => matches!(
                        text.to_ascii_lowercase().as_str(),
                        "true"
                            | "false"
                            | "1"
                            | "0"
                            | "yes"
                            | "no"
                            | "y"
                            | "n"
                            | "on"
                            | "off"
                            | "t"
                            | "f"
                            | ""
                    ),
                    Some("integer") => text.parse::<i64>().is_ok(),
                    _ => true,
                };
                let rule = rules.iter().find(|r| {
                    r.from == declared
                        && map
                            .get("enum")
                            .and_then(Value::as_array)
                            .is_none_or(|values| {
                                values
                                    .iter()
                                    .filter_map(Value::as_str)
                                    .all(|text| spells(&r.to, text))
                            })
                });
                if let Some(rule) = rule {
                    let keeps_string = match &rule.to {
                        Value::String(t) => t == "string",
                        Value::Array(ts) => ts.iter().any(|t| t == "string"),
                        _ => false,
                    };
                    if !keeps_string {
                        for keyword in ["pattern", "minLength", "maxLength", "format"] {
                            map.remove(keyword);
                        }
                        // An enum keeps the values of the types that remain.
                        if let Some(Value::Array(values)) = map.get_mut("enum") {
                            values.retain(|v| !v.is_string());
                        }
                    }
                    map.insert("type".into(), rule.to.clone());
                }
            }
            for value in map.values_mut() {
                narrow(rules, value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| narrow(rules, v)),
        _ => {}
    }
}

/// Deep-merges the overlay's `query_parameters` into each query variant's parameters.
fn annotate_query(annotations: &BTreeMap<String, Value>, query: &mut [Ranged<Value>]) {
    fn merge(target: &mut Value, extra: &Value) {
        match (target, extra) {
            (Value::Object(t), Value::Object(e)) => {
                for (k, v) in e {
                    match t.get_mut(k) {
                        Some(existing) => merge(existing, v),
                        None => {
                            t.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            (t, e) => *t = e.clone(),
        }
    }
    for variant in query {
        let Some(properties) = variant
            .value
            .get_mut("properties")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (name, extra) in annotations {
            if let Some(schema) = properties.get_mut(name) {
                merge(schema, extra);
            }
        }
    }
}

fn apply_patches(
    ctx: &Context<'_>,
    key: &str,
    op: &mut Op,
    patches: &[overlay::SchemaPatch],
) -> Result<(), Diagnostic> {
    for (i, p) in patches.iter().enumerate() {
        let at = format!("/operations/{}/patches/{i}", crate::source::escape(key));
        let bound = |text: &Option<String>, which: &str| {
            text.as_ref()
                .map(|t| {
                    Version::parse(t).ok_or_else(|| {
                        ctx.overlay
                            .diagnostic(&format!("{at}/{which}"), format!("invalid version {t:?}"))
                    })
                })
                .transpose()
        };
        let (lo, hi) = (bound(&p.min, "min")?, bound(&p.max, "max")?);
        let edit = match (p.op, &p.value) {
            (PatchOp::Add, Some(v)) => Edit::Add(p.path.clone(), v.clone()),
            (PatchOp::Replace, Some(v)) => Edit::Replace(p.path.clone(), v.clone()),
            (PatchOp::Remove, None) => Edit::Remove(p.path.clone()),
            (PatchOp::Remove, Some(_)) => {
                return Err(ctx
                    .overlay
                    .diagnostic(&format!("{at}/value"), "remove takes no value"));
            }
            (_, None) => {
                return Err(ctx.overlay.diagnostic(&at, "add and replace need a value"));
            }
        };
        let variants = match p.facet {
            Facet::Query => &mut op.query,
            Facet::Request => &mut op.request,
            Facet::Response => &mut op.response,
        };
        // A patch bounded inside a variant applies to that part only: split the variant there.
        if let Some(lo) = lo {
            split_at(variants, lo);
        }
        if let Some(after) = hi.and_then(|hi| ctx.axis.next(hi)) {
            split_at(variants, after);
        }
        let mut applied = 0;
        let mut last_error = None;
        for variant in variants.iter_mut() {
            if lo.is_some_and(|lo| variant.max < lo) || hi.is_some_and(|hi| variant.min > hi) {
                continue;
            }
            match patch::apply(&mut variant.value, &edit) {
                Ok(()) => applied += 1,
                Err(e) => last_error = Some(e),
            }
        }
        if applied == 0 {
            return Err(ctx.overlay.diagnostic(
                &format!("{at}/path"),
                format!(
                    "the patch fits no {} schema of {key} ({}): the overlay is stale against the \
                     dump",
                    p.facet.as_str(),
                    last_error.unwrap_or_else(|| "no variant in range".into())
                ),
            ));
        }
    }
    Ok(())
}

/// Builds the operations: names, groups, ranges, overlays applied.
fn operations(ctx: &Context<'_>, report: &mut Report) -> Result<(Vec<Op>, Vec<Value>), Diagnostic> {
    let ov = &ctx.overlay.overlay;
    let keys: BTreeSet<&str> = ctx.dump.operations.iter().map(|o| o.key.as_str()).collect();
    for key in ov.operations.keys() {
        if !keys.contains(key.as_str()) {
            return Err(ctx.overlay.diagnostic(
                &format!("/operations/{}", crate::source::escape(key)),
                format!("the dump has no operation {key:?} (METHOD path[#action])"),
            ));
        }
    }
    let mut ops = Vec::new();
    let mut removed = Vec::new();
    for (i, d) in ctx.dump.operations.iter().enumerate() {
        let at = format!("/operations/{i}");
        let o = ov.operations.get(&d.key).cloned().unwrap_or_default();
        if let Some(r) = &d.removed {
            removed.push(removed_entry(d, r));
            continue;
        }
        let group = o.group.clone().unwrap_or_else(|| group_of(ov, &d.path));
        if o.skip || ov.skip_groups.contains(&group) {
            report.skipped += 1;
            continue;
        }
        // No response schema: nothing to check a body against, unless the operation answers
        // only 204 No Content, which has no body to check.
        let no_content = !d.status.is_empty()
            && d.status
                .iter()
                .all(|c| !c.codes.is_empty() && c.codes.iter().all(|&s| s == 204));
        if d.response.is_empty() && !no_content {
            report.undeclared += 1;
            continue;
        }
        let Some(life) = clamp(
            ctx,
            &format!("{at}/versions"),
            &d.versions.min,
            &d.versions.max,
        )?
        else {
            continue;
        };
        let path = match ov.paths.get(&d.path) {
            Some(better) => {
                if !same_shape(&d.path, better) {
                    return Err(ctx.overlay.diagnostic(
                        &format!("/paths/{}", crate::source::escape(&d.path)),
                        format!("{better} is not {} with other parameter names", d.path),
                    ));
                }
                better.clone()
            }
            None => d.path.clone(),
        };
        let mut op = Op {
            key: d.key.clone(),
            name: o.name.clone().unwrap_or_default(),
            group,
            summary: o.summary.clone(),
            method: d.method,
            path,
            root: ov.root || d.root,
            unversioned: d.root,
            life,
            query: ranged_schemas(ctx, &format!("{at}/query"), &d.query)?,
            request: ranged_schemas(ctx, &format!("{at}/request"), &d.request)?,
            response: ranged_schemas(ctx, &format!("{at}/response"), &d.response)?,
            status: ranged_codes(ctx, &format!("{at}/status"), &d.status)?,
            errors: ranged_codes(ctx, &format!("{at}/errors"), &d.errors)?,
            status_override: o.status.clone(),
        };
        for variant in op.request.iter_mut().chain(op.query.iter_mut()) {
            narrow(&ov.narrow_types, &mut variant.value);
        }
        annotate_query(&ov.query_parameters, &mut op.query);
        fill_request_gaps(&ctx.axis, &mut op);
        apply_patches(ctx, &d.key, &mut op, &o.patches)?;
        ops.push(op);
    }
    name_operations(ctx, &mut ops)?;
    report.removed = removed.len();
    Ok((ops, removed))
}

/// Whether two path templates differ only in their parameter names.
fn same_shape(a: &str, b: &str) -> bool {
    let param = |s: &str| s.starts_with('{') && s.ends_with('}');
    let (x, y): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    x.len() == y.len()
        && x.iter()
            .zip(&y)
            .all(|(p, q)| p == q || (param(p) && param(q)))
}

fn removed_entry(d: &DumpOperation, r: &dump::Removed) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), json!(d.key));
    m.insert("method".into(), json!(d.method.as_str()));
    m.insert("path".into(), json!(d.path));
    if let Some(a) = &d.action {
        m.insert("action".into(), json!(a));
    }
    if let Some(rel) = &r.release {
        m.insert("removed_in_release".into(), json!(rel));
    }
    m.insert("status".into(), json!(r.status));
    Value::Object(m)
}

/// Default names for the operations the overlay does not name; collisions are qualified by the
/// parent resource, then by the first path resource (the shortest path keeps the plain name).
fn name_operations(ctx: &Context<'_>, ops: &mut [Op]) -> Result<(), Diagnostic> {
    let ov = &ctx.overlay.overlay;
    let named: Vec<bool> = ops.iter().map(|o| !o.name.is_empty()).collect();
    for op in ops.iter_mut().filter(|o| o.name.is_empty()) {
        let action = op.key.split_once('#').map(|(_, a)| a.to_owned());
        op.name = names::default_name(op.method, &op.path, action.as_deref());
    }
    for round in 0..2 {
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_name.entry(op.name.clone()).or_default().push(i);
        }
        for (_, members) in by_name.into_iter().filter(|(_, m)| m.len() > 1) {
            let keeper = members
                .iter()
                .copied()
                .min_by_key(|i| (ops[*i].path.len(), ops[*i].path.clone()));
            for i in members {
                if named[i] {
                    continue;
                }
                let qualifier = if round == 0 {
                    names::parent(&ops[i].path)
                } else if Some(i) != keeper {
                    names::first(&ops[i].path)
                } else {
                    None
                };
                if let Some(q) = qualifier {
                    let name = &ops[i].name;
                    ops[i].name = match name.split_once('_') {
                        Some((verb, rest)) if !rest.starts_with(&q) => {
                            format!("{verb}_{q}_{rest}")
                        }
                        Some(_) => name.clone(),
                        None => format!("{name}_{q}"),
                    };
                }
            }
        }
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for op in ops.iter() {
        let pointer = format!("/operations/{}/name", crate::source::escape(&op.key));
        if !names::is_snake_case(&op.name) {
            return Err(ctx.overlay.diagnostic(
                &pointer,
                format!("operation name {:?} must be snake_case", op.name),
            ));
        }
        if let Some(other) = seen.insert(&op.name, &op.key) {
            return Err(ctx.overlay.diagnostic(
                &pointer,
                format!(
                    "{:?} and {other:?} are both named {}: give one a `name` in the overlay",
                    op.key, op.name
                ),
            ));
        }
    }
    if let Some(bad) = ov.skip_groups.iter().find(|g| !names::is_snake_case(g)) {
        return Err(ctx
            .overlay
            .diagnostic("/skip_groups", format!("group {bad:?} must be snake_case")));
    }
    Ok(())
}

/// A group's document at one version.
fn group_document(group: &str, ops: &[&Op], v: Version, ov: &overlay::Overlay) -> Value {
    let mut operations = Map::new();
    let mut schemas = Map::new();
    for op in ops.iter().filter(|o| o.alive(v)) {
        let (doc, named) = op.document(v);
        operations.insert(op.name.clone(), doc);
        for (name, schema) in named {
            schemas.insert(name, schema);
        }
    }
    let mut doc = Map::new();
    if let Some(s) = ov.group_summaries.get(group) {
        doc.insert("summary".into(), json!(s));
    }
    doc.insert("operations".into(), Value::Object(operations));
    doc.insert("schemas".into(), Value::Object(schemas));
    Value::Object(doc)
}

fn yaml(value: &Value, file: &Path) -> Result<String, ImportError> {
    serde_yaml::to_string(value).map_err(|e| io(file, e))
}

/// Plans the service folder's imported files from dump + overlay, without touching the disk.
pub fn plan(options: &Options) -> Result<Plan, ImportError> {
    let dump = dump::load(&options.dump)?;
    let overlay_path = options.overlay_path();
    let overlay = match &overlay_path {
        Some(p) => overlay::load(p)?,
        None => LoadedOverlay::empty(),
    };
    if dump.service != options.service {
        return Err(Diagnostic {
            file: options.dump.clone(),
            line: None,
            pointer: "/service".into(),
            message: format!(
                "the dump is of service {:?}, not {:?}",
                dump.service, options.service
            ),
        }
        .into());
    }
    let axis = match (&dump.microversions, &overlay.overlay.folder) {
        (Some(mv), None) => Axis {
            min: dump::version(&options.dump, "/microversions/min", &mv.min)?,
            max: dump::version(&options.dump, "/microversions/max", &mv.max)?,
            folder: None,
        },
        (None, Some(folder)) => {
            let v = folder
                .strip_prefix('v')
                .and_then(|m| m.parse::<u32>().ok())
                .map(|major| Version { major, minor: 0 })
                .ok_or_else(|| {
                    overlay.diagnostic("/folder", format!("{folder:?} is not a folder like v3"))
                })?;
            Axis {
                min: v,
                max: v,
                folder: Some(folder.clone()),
            }
        }
        (Some(_), Some(_)) => {
            return Err(overlay
                .diagnostic("/folder", "`folder` is for services without microversions")
                .into());
        }
        (None, None) => {
            return Err(overlay
                .diagnostic(
                    "/folder",
                    "the service has no microversions: name its one version folder with \
                     `folder: v3`",
                )
                .into());
        }
    };
    check_service_file(options, &axis)?;
    let ctx = Context {
        dump: &dump,
        dump_path: &options.dump,
        overlay: &overlay,
        axis: axis.clone(),
    };
    let mut report = Report {
        service: options.service.clone(),
        ..Report::default()
    };
    let (ops, removed) = operations(&ctx, &mut report)?;
    report.operations = ops.len();
    let ov = &overlay.overlay;
    // Only the file name: the text must not depend on where the import ran from.
    let overlay_shown = overlay_path
        .as_ref()
        .and_then(|p| p.file_name())
        .map_or_else(
            || "overlay.yaml".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
    let header = format!(
        "{HEADER} from {} {}; do not edit by hand.\n# What the service does not say goes in {} \
         (the service's overlay); then re-import.\n",
        dump.package.name, dump.package.version, overlay_shown
    );

    let mut groups: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in &ops {
        groups.entry(op.group.as_str()).or_default().push(op);
    }
    for (group, summaries) in &ov.changes {
        if !groups.contains_key(group.as_str()) {
            return Err(overlay
                .diagnostic(
                    &format!("/changes/{}", crate::source::escape(group)),
                    format!("no imported group {group}"),
                )
                .into());
        }
        for v in summaries.keys() {
            if Version::parse(v).is_none() && axis.folder.as_deref() != Some(v.as_str()) {
                return Err(overlay
                    .diagnostic(
                        &format!("/changes/{}/{}", crate::source::escape(group), v),
                        "not a version",
                    )
                    .into());
            }
        }
    }
    report.groups = groups.len();
    let mut files = BTreeMap::new();
    let mut folders = BTreeSet::new();
    for (group, members) in &groups {
        let mut points = BTreeSet::new();
        for op in members {
            op.change_points(&axis, &mut points);
        }
        let mut previous: Option<Value> = None;
        for v in points {
            let doc = group_document(group, members, v, ov);
            let file = PathBuf::from(axis.folder(v)).join(format!("{group}.yaml"));
            let text = match &previous {
                None => format!("{header}{}", yaml(&doc, &file)?),
                Some(before) => {
                    let edits = patch::diff(before, &doc);
                    if edits.is_empty() {
                        continue;
                    }
                    let line = ov
                        .changes
                        .get(*group)
                        .and_then(|c| c.get(&v.to_string()))
                        .cloned()
                        .unwrap_or_else(|| summary::describe(before, &edits));
                    let body = json!({
                        "summary": line,
                        "changes": edits.iter().map(Edit::to_value).collect::<Vec<_>>(),
                    });
                    format!("{header}{}", yaml(&body, &file)?)
                }
            };
            folders.insert(axis.folder(v));
            files.insert(file, text);
            previous = Some(doc);
        }
    }
    if let Some(service) = &ov.service {
        let file = PathBuf::from("service.yaml");
        let text = format!(
            "{HEADER} from the overlay's `service:`; do not edit by hand.\n{}",
            yaml(service, &file)?
        );
        files.insert(file, text);
    }
    if !removed.is_empty() {
        let file = PathBuf::from(REMOVED_FILE);
        let body = json!({
            "summary": format!(
                "Operations {} removed: they answer {} at every version.",
                dump.package.name,
                removed.first().and_then(|r| r.get("status")).cloned().unwrap_or(json!(410))
            ),
            "removed": removed,
        });
        files.insert(file.clone(), format!("{header}{}", yaml(&body, &file)?));
    }
    report.boundaries = folders.len();
    report.files = files
        .iter()
        .map(|(p, t)| (p.clone(), t.lines().count()))
        .collect();
    Ok(Plan {
        files,
        report,
        overlay: overlay_path,
    })
}

/// The dump's range must fit the hand-written `service.yaml`, when there is one.
fn check_service_file(options: &Options, axis: &Axis) -> Result<(), ImportError> {
    let path = options.service_dir().join("service.yaml");
    if !path.is_file() {
        return Ok(());
    }
    let file = SourceFile::load(&path)?;
    let Ok(def) = serde_json::from_value::<ServiceFile>(file.value.clone()) else {
        return Ok(()); // resolve reports a malformed service.yaml with its line
    };
    if axis.folder.is_some() {
        return Ok(());
    }
    for (pointer, text, want) in [
        ("/min_version", &def.min_version, axis.min),
        ("/max_version", &def.max_version, axis.max),
    ] {
        if Version::parse(text) != Some(want) {
            return Err(file
                .diagnostic(
                    pointer,
                    format!("the dump declares {want}; update service.yaml with the service"),
                )
                .into());
        }
    }
    Ok(())
}

fn is_imported(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.starts_with(HEADER))
}

/// Imported files now on disk (relative to the service folder), and hand-written ones.
fn on_disk(dir: &Path) -> (BTreeSet<PathBuf>, BTreeSet<PathBuf>) {
    let (mut imported, mut hand) = (BTreeSet::new(), BTreeSet::new());
    let mut visit = |rel: PathBuf, full: &Path| {
        let yaml = full.extension().is_some_and(|x| x == "yaml" || x == "yml");
        if !yaml {
            return;
        }
        if is_imported(full) {
            imported.insert(rel);
        } else {
            hand.insert(rel);
        }
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (imported, hand);
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = PathBuf::from(entry.file_name());
        if path.is_dir() {
            if let Ok(inner) = std::fs::read_dir(&path) {
                for e in inner.filter_map(Result::ok) {
                    visit(name.join(e.file_name()), &e.path());
                }
            }
        } else {
            visit(name, &path);
        }
    }
    (imported, hand)
}

fn conflicts(plan: &Plan, hand: &BTreeSet<PathBuf>, dir: &Path) -> Result<(), ImportError> {
    // A hand-written group file the import would also write, at any version.
    let imported_groups: BTreeSet<String> = plan
        .files
        .keys()
        .filter(|p| p.parent().is_some_and(|d| !d.as_os_str().is_empty()))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for file in hand {
        let in_folder = file.parent().is_some_and(|d| !d.as_os_str().is_empty());
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if (in_folder && imported_groups.contains(&stem)) || plan.files.contains_key(file) {
            return Err(ImportError::Stale(format!(
                "{}: group {stem} is hand-written, and the import also defines it: add \
                 `skip_groups: [{stem}]` to the overlay, or move the hand-written group",
                dir.join(file).display()
            )));
        }
    }
    Ok(())
}

/// Imports into `specs/<service>/`: writes what changed, deletes stale imported files, leaves
/// hand-written files alone, then loads the result to prove it resolves.
pub fn write(options: &Options) -> Result<Report, ImportError> {
    let mut plan = plan(options)?;
    let dir = options.service_dir();
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let service_yaml = dir.join("service.yaml");
    if !service_yaml.is_file() && !plan.files.contains_key(Path::new("service.yaml")) {
        // A new tree: take service.yaml from beside the overlay.
        let source = plan
            .overlay
            .as_ref()
            .and_then(|o| o.parent())
            .map(|d| d.join("service.yaml"))
            .filter(|p| p.is_file());
        match source {
            Some(src) => {
                std::fs::copy(&src, &service_yaml).map_err(|e| io(&service_yaml, e))?;
            }
            None => {
                return Err(io(
                    &service_yaml,
                    "missing: write it by hand (or keep one beside the overlay)",
                ));
            }
        }
    }
    let (imported, hand) = on_disk(&dir);
    conflicts(&plan, &hand, &dir)?;
    for stale in imported.iter().filter(|p| !plan.files.contains_key(*p)) {
        let full = dir.join(stale);
        std::fs::remove_file(&full).map_err(|e| io(&full, e))?;
        plan.report.deleted += 1;
        if let Some(parent) = full.parent().filter(|p| *p != dir) {
            // Only an empty folder goes.
            let _ = std::fs::remove_dir(parent);
        }
    }
    for (rel, text) in &plan.files {
        let full = dir.join(rel);
        if std::fs::read_to_string(&full).is_ok_and(|t| t == *text) {
            continue;
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&full, text).map_err(|e| io(&full, e))?;
        plan.report.written += 1;
    }
    crate::resolve::load_service(&dir)?;
    Ok(plan.report)
}

/// Proves that `specs/<service>/` holds exactly what dump + overlay import to.
pub fn check(options: &Options) -> Result<Report, ImportError> {
    let plan = plan(options)?;
    let dir = options.service_dir();
    let (imported, hand) = on_disk(&dir);
    conflicts(&plan, &hand, &dir)?;
    let mut problems = Vec::new();
    for (rel, text) in &plan.files {
        let full = dir.join(rel);
        match std::fs::read_to_string(&full) {
            Ok(t) if t == *text => {}
            Ok(_) => problems.push(format!("{}: differs from the import", full.display())),
            Err(_) => problems.push(format!("{}: missing", full.display())),
        }
    }
    for stale in imported.iter().filter(|p| !plan.files.contains_key(*p)) {
        problems.push(format!(
            "{}: imported earlier, but dump + overlay no longer produce it",
            dir.join(stale).display()
        ));
    }
    if problems.is_empty() {
        return Ok(plan.report);
    }
    let overlay = plan.overlay.as_ref().map_or_else(
        || dir.join("overlay.yaml").display().to_string(),
        |p| p.display().to_string(),
    );
    Err(ImportError::Stale(format!(
        "specs/{svc} is not what `squall-gen import {svc}` makes of {dump} and {overlay}:\n  {}\n\
         Imported specs are never edited by hand. Say what the service does not (names, groups, \
         summaries, narrowed schemas) in the overlay {overlay}, then re-run `squall-gen import \
         {svc} --dump {dump}`.",
        problems.join("\n  "),
        svc = options.service,
        dump = options.dump.display(),
    )))
}
