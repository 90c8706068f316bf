//! Rust types from interned schemas: plain structs and enums with small [`Decode`] impls.
//!
//! serde's derived `Deserialize` is the largest cost of compiling generated clients, so types
//! are emitted with a hand-rolled shape instead of through typify: a struct reads its fields
//! through the runtime's `Record`, a string enum is a table, and every other shape maps onto
//! a runtime type (`String`, `Vec`, `BTreeMap`, `Option`, `Value`). A struct that is the same
//! resource as an earlier version with fields added extends it (`base` plus `Deref`), so a
//! resource with many versions costs its changes, not a copy per version.
//!
//! Only types reachable from requests and queries derive `Serialize`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use super::ident;
use crate::intern::{Interner, TypeDef};

/// A field or element type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `String`.
    String,
    /// `bool`.
    Bool,
    /// `i64`.
    Int,
    /// `f64`.
    Number,
    /// A Rust scalar named by the spec's `x-squall-type` (`u32`, `u64`).
    Scalar(String),
    /// Any JSON (`rt::Value`): shapes the types do not model, checked by the schema.
    Any,
    /// A generated type (or alias).
    Named(String),
    /// `Vec<T>`.
    List(Box<Ty>),
    /// `BTreeMap<String, T>`.
    Map(Box<Ty>),
    /// `Option<T>` (nullable).
    Nullable(Box<Ty>),
}

impl Ty {
    fn tokens(&self) -> TokenStream {
        match self {
            Ty::String => quote!(String),
            Ty::Bool => quote!(bool),
            Ty::Int => quote!(i64),
            Ty::Number => quote!(f64),
            Ty::Scalar(name) => {
                let name = ident(name);
                quote!(#name)
            }
            Ty::Any => quote!(rt::Value),
            Ty::Named(name) => {
                let name = ident(name);
                quote!(#name)
            }
            Ty::List(item) => {
                let item = item.tokens();
                quote!(Vec<#item>)
            }
            Ty::Map(value) => {
                let value = value.tokens();
                quote!(BTreeMap<String, #value>)
            }
            Ty::Nullable(inner) => {
                let inner = inner.tokens();
                quote!(Option<#inner>)
            }
        }
    }

    fn named(&self, out: &mut BTreeSet<String>) {
        match self {
            Ty::Named(name) => {
                out.insert(name.clone());
            }
            Ty::List(t) | Ty::Map(t) | Ty::Nullable(t) => t.named(out),
            _ => {}
        }
    }
}

/// One field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON name.
    pub json: String,
    /// The Rust name.
    pub rust: String,
    /// The type (without the `Option` of an optional field).
    pub ty: Ty,
    /// Whether the field must be present.
    pub required: bool,
    /// The schema's description.
    pub doc: Option<String>,
    /// The value constraints the typed decode checks.
    pub check: Option<CheckSpec>,
}

/// The value constraints of a field, an item or a member value: what becomes a row of the
/// service's `CHECKS` table (the runtime's `Check`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CheckSpec {
    /// `type` as bits of `rt::ty` (0: left to the Rust type).
    pub types: u8,
    /// `enum`/`const` values, as JSON text.
    pub among: Vec<String>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `format`, when one the runtime knows.
    pub format: Option<String>,
    /// `minimum` (as JSON text) and whether it is exclusive.
    pub minimum: Option<(String, bool)>,
    /// `maximum` (as JSON text) and whether it is exclusive.
    pub maximum: Option<(String, bool)>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// The check of every item.
    pub items: Option<Box<CheckSpec>>,
    /// `minProperties`.
    pub min_properties: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// The pattern every key matches.
    pub keys: Option<String>,
    /// The check of every member value.
    pub values: Option<Box<CheckSpec>>,
    /// Constraint-only `allOf` members.
    pub all_of: Vec<CheckSpec>,
    /// Constraint-only `anyOf` members.
    pub any_of: Vec<CheckSpec>,
    /// Constraint-only `oneOf` members.
    pub one_of: Vec<CheckSpec>,
    /// A whole subschema (JSON text) for what the types and the other keywords cannot say.
    pub schema: Option<String>,
}

/// The formats the runtime checks (`rt::Format`); the others are left unchecked, as Tempest's
/// Draft 4 format checker leaves them.
const FORMATS: &[(&str, &str)] = &[
    ("date-time", "DateTime"),
    ("uuid", "Uuid"),
    ("uri", "Uri"),
    ("ipv4", "Ipv4"),
    ("ipv6", "Ipv6"),
];

/// Keywords a combinator member may have and still be a table row (no nested shapes).
const MEMBER_KEYS: &[&str] = &[
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "description",
    "title",
    "$comment",
    "default",
    "examples",
];

/// Whether a (raw) schema says something the table's keywords cannot: `not`, `multipleOf`,
/// tuple items, or a combinator whose members have shapes of their own (properties, items).
/// Such a value is checked against its whole subschema.
fn needs_schema(schema: &Value) -> bool {
    let Some(map) = schema.as_object() else {
        return false;
    };
    if ["not", "multipleOf", "additionalItems", "dependencies"]
        .iter()
        .any(|k| map.contains_key(*k))
        || map.get("items").is_some_and(Value::is_array)
    {
        return true;
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .any(|k| match map.get(*k) {
            Some(Value::Array(members)) => members.iter().any(|m| {
                m.as_object()
                    .is_none_or(|o| o.keys().any(|k| !MEMBER_KEYS.contains(&k.as_str())))
                    || needs_schema(m)
            }),
            Some(_) => true,
            None => false,
        })
}

/// The `type` keyword as bits of `rt::ty`.
fn type_bits(schema: &Value) -> u8 {
    json_types(schema)
        .iter()
        .map(|t| match *t {
            "null" => 1,
            "boolean" => 2,
            "integer" => 4,
            "number" => 8,
            "string" => 16,
            "array" => 32,
            "object" => 64,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

/// A schema without its documentation and squall's annotations (what a subschema check
/// embeds).
fn without_docs(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "description" | "title" | "$comment" | "examples"
                    ) && !k.starts_with("x-squall-")
                })
                .map(|(k, v)| {
                    let v = if matches!(k.as_str(), "properties" | "patternProperties") {
                        match v {
                            Value::Object(named) => Value::Object(
                                named
                                    .iter()
                                    .map(|(n, s)| (n.clone(), without_docs(s)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        }
                    } else {
                        without_docs(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_docs).collect()),
        other => other.clone(),
    }
}

/// The constraints of a (raw, unlowered) schema where a value of it is decoded; `None` when
/// there are none. An object with `properties` is a struct that checks its own fields.
pub fn check_of(schema: &Value) -> Option<CheckSpec> {
    check_at(schema, false)
}

/// The constraints of an open object's other members (`additionalProperties` as a schema):
/// no Rust type reads them, so the row states their type too, and a schema with structure
/// of its own (members, items, combinators) is checked whole, as a subschema.
fn extras_check(schema: &Value) -> Option<CheckSpec> {
    const NESTED: [&str; 8] = [
        "properties",
        "patternProperties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "$ref",
    ];
    if NESTED.iter().any(|k| schema.get(k).is_some()) {
        return Some(CheckSpec {
            schema: Some(without_docs(schema).to_string()),
            ..CheckSpec::default()
        });
    }
    check_at(schema, true).filter(|spec| *spec != CheckSpec::default())
}

/// [`check_of`]; a combinator `member` states its type and values itself (the Rust type of
/// a combinator is an untyped `Value`).
fn check_at(schema: &Value, member: bool) -> Option<CheckSpec> {
    let map = schema.as_object()?;
    if needs_schema(schema) {
        let text = without_docs(schema).to_string();
        return Some(CheckSpec {
            schema: Some(text),
            ..CheckSpec::default()
        });
    }
    let uint = |k: &str| map.get(k).and_then(Value::as_u64);
    let flag = |k: &str| map.get(k).and_then(Value::as_bool).unwrap_or(false);
    let bound = |k: &str, exclusive: &str| {
        map.get(k)
            .filter(|v| v.is_number())
            .map(|v| (v.to_string(), flag(exclusive)))
    };
    let members = |k: &str| -> Vec<CheckSpec> {
        map.get(k)
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .map(|m| check_at(m, true).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    let bits = type_bits(schema);
    let combinator = ["oneOf", "anyOf", "allOf"]
        .iter()
        .any(|k| map.contains_key(*k));
    // Where the Rust type does not say it: in a member, beside a combinator, several types
    // (or `null` alone).
    let untyped = member || combinator || (bits != 0 && (bits & !1).count_ones() != 1);
    let mut among: Vec<String> = match (map.get("enum"), map.get("const")) {
        (Some(Value::Array(values)), _)
            if untyped || values.iter().any(|v| !v.is_string() && !v.is_null()) =>
        {
            values.iter().map(Value::to_string).collect()
        }
        (_, Some(value)) => vec![value.to_string()],
        _ => vec![],
    };
    among.retain(|v| !v.starts_with(['[', '{']));
    let mut spec = CheckSpec {
        types: if untyped { bits } else { 0 },
        among,
        min_length: uint("minLength"),
        max_length: uint("maxLength"),
        pattern: map
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_owned),
        format: map
            .get("format")
            .and_then(Value::as_str)
            .filter(|f| FORMATS.iter().any(|(name, _)| name == f))
            .map(str::to_owned),
        minimum: bound("minimum", "exclusiveMinimum"),
        maximum: bound("maximum", "exclusiveMaximum"),
        min_items: uint("minItems"),
        max_items: uint("maxItems"),
        unique_items: flag("uniqueItems"),
        items: map.get("items").and_then(check_of).map(Box::new),
        min_properties: uint("minProperties"),
        max_properties: uint("maxProperties"),
        all_of: members("allOf"),
        any_of: members("anyOf"),
        one_of: members("oneOf"),
        ..CheckSpec::default()
    };
    if !map.contains_key("properties") {
        let patterns = map.get("patternProperties").and_then(Value::as_object);
        match patterns {
            Some(patterns) if patterns.len() == 1 => {
                if let Some((pattern, values)) = patterns.iter().next() {
                    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                        spec.keys = Some(pattern.clone());
                    }
                    spec.values = check_of(values).map(Box::new);
                }
            }
            Some(_) => {
                spec.schema = Some(without_docs(schema).to_string());
            }
            None => {
                spec.values = map
                    .get("additionalProperties")
                    .and_then(check_of)
                    .map(Box::new);
            }
        }
    }
    (spec != CheckSpec::default()).then_some(spec)
}

/// The shape of one generated type.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A struct; `base` is the earlier version it extends.
    Struct {
        /// The fields of this type (not the base's).
        fields: Vec<Field>,
        /// Unknown fields are an error.
        closed: bool,
        /// The constraints members outside `properties` must meet (`additionalProperties`
        /// given as a schema), checked by the record that reads the object.
        extras: Option<Box<CheckSpec>>,
        /// The struct this one extends.
        base: Option<String>,
    },
    /// A string enum: (spelling, variant) pairs.
    Enum(Vec<(String, String)>),
    /// Another name for a runtime type (`BTreeMap<String, T>`, `Value`, ...).
    Alias(Ty),
}

/// Each type name -> the Rust type it denotes, following aliases (`A = B`, `C = BTreeMap<..>`).
pub fn canonical_names(items: &[TypeItem]) -> BTreeMap<String, String> {
    let by_name: BTreeMap<&str, &TypeItem> = items.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut out = BTreeMap::new();
    for item in items {
        let mut current = item;
        let mut hops = 0;
        let canonical = loop {
            match &current.shape {
                Shape::Alias(Ty::Named(next)) if hops < items.len() => {
                    match by_name.get(next.as_str()) {
                        Some(target) => {
                            current = target;
                            hops += 1;
                        }
                        None => break next.clone(),
                    }
                }
                Shape::Alias(ty) => break ty.tokens().to_string(),
                _ => break current.name.clone(),
            }
        };
        out.insert(item.name.clone(), canonical);
    }
    out
}

/// A type to emit.
#[derive(Debug, Clone)]
pub struct TypeItem {
    /// Its name.
    pub name: String,
    /// Its documentation.
    pub doc: String,
    /// Its shape.
    pub shape: Shape,
}

/// A spec annotation narrowing a query parameter: `single` takes an array's item type.
pub const QUERY_KEY: &str = "x-squall-query";
/// A spec annotation naming the Rust scalar of an integer: one of [`SCALARS`].
pub const TYPE_KEY: &str = "x-squall-type";
/// The scalars `x-squall-type` may name.
const SCALARS: &[&str] = &["u32", "u64", "i32"];

fn json_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
}

/// Builds the types of one service from its interned definitions.
pub struct TypeBuilder<'a> {
    interner: &'a Interner,
    nullable: HashMap<&'a str, bool>,
}

impl<'a> TypeBuilder<'a> {
    /// A builder over an interner's definitions.
    pub fn new(interner: &'a Interner) -> Self {
        let nullable = interner
            .defs
            .iter()
            .map(|d| {
                let null_type = json_types(&d.lowered).contains(&"null");
                let null_enum = d
                    .lowered
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().any(Value::is_null));
                (d.name.as_str(), null_type || null_enum)
            })
            .collect();
        Self { interner, nullable }
    }

    /// The type of a (lowered) schema where it is used.
    pub fn ty(&self, schema: &Value) -> Ty {
        // `x-squall-query: single`: Nova declares every query parameter as an array (a key may
        // repeat); where one value is meant, the type is the item's.
        if schema.get(QUERY_KEY).and_then(Value::as_str) == Some("single")
            && let Some(items @ Value::Object(_)) = schema.get("items")
        {
            return self.ty(items);
        }
        if let Some(scalar) = schema.get(TYPE_KEY).and_then(Value::as_str)
            && SCALARS.contains(&scalar)
        {
            return Ty::Scalar(scalar.to_owned());
        }
        if let Some(name) = ref_name(schema) {
            let target = self.interner.resolve(name).map(|d| d.name.as_str());
            let named = Ty::Named(name.to_owned());
            return match target.and_then(|t| self.nullable.get(t)) {
                Some(true) => Ty::Nullable(Box::new(named)),
                _ => named,
            };
        }
        let types = json_types(schema);
        let nullable = types.contains(&"null");
        let concrete: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
        let combinator = ["oneOf", "anyOf", "allOf", "enum", "not"]
            .iter()
            .any(|k| schema.get(*k).is_some());
        let ty = match concrete.as_slice() {
            _ if combinator => Ty::Any,
            ["string"] => Ty::String,
            ["integer"] => Ty::Int,
            ["number"] => Ty::Number,
            ["boolean"] => Ty::Bool,
            ["array"] => match schema.get("items") {
                Some(items @ Value::Object(_)) => Ty::List(Box::new(self.ty(items))),
                _ => Ty::List(Box::new(Ty::Any)),
            },
            ["object"] => match schema.get("additionalProperties") {
                Some(values @ Value::Object(_)) => Ty::Map(Box::new(self.ty(values))),
                _ => Ty::Map(Box::new(Ty::Any)),
            },
            _ => Ty::Any,
        };
        match ty {
            Ty::Any => Ty::Any,
            ty if nullable => Ty::Nullable(Box::new(ty)),
            ty => ty,
        }
    }

    fn shape(&self, def: &TypeDef) -> Shape {
        let schema = &def.lowered;
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let mut used = BTreeSet::new();
            let variants = values
                .iter()
                .filter_map(Value::as_str)
                .map(|text| {
                    let mut name = text.to_upper_camel_case();
                    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                        name = format!("V{name}");
                    }
                    let mut unique = name.clone();
                    let mut n = 2;
                    while !used.insert(unique.clone()) {
                        unique = format!("{name}{n}");
                        n += 1;
                    }
                    (text.to_owned(), unique)
                })
                .collect();
            return Shape::Enum(variants);
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            let types = json_types(schema);
            if !types.is_empty() && !types.contains(&"object") {
                // A named array or scalar (Ironic's JSON Patch request bodies): the type it is.
                return Shape::Alias(self.ty(schema));
            }
            let values = match schema.get("additionalProperties") {
                Some(values @ Value::Object(_)) => self.ty(values),
                _ => Ty::Any,
            };
            return Shape::Alias(Ty::Map(Box::new(values)));
        };
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut used = BTreeSet::new();
        let fields = properties
            .iter()
            .map(|(json, property)| {
                let mut rust = rust_field_name(json);
                while !used.insert(rust.clone()) {
                    rust.push('_');
                }
                let raw = def.full.get("properties").and_then(|p| p.get(json));
                Field {
                    json: json.clone(),
                    rust,
                    ty: self.ty(property),
                    required: required.contains(json.as_str()),
                    doc: doc_of(property),
                    check: raw.and_then(check_of),
                }
            })
            .collect();
        let patterned = schema.get("patternProperties").is_some();
        Shape::Struct {
            fields,
            closed: schema.get("additionalProperties") == Some(&Value::Bool(false)),
            extras: def
                .full
                .get("additionalProperties")
                .filter(|_| !patterned)
                .and_then(extras_check)
                .map(Box::new),
            base: None,
        }
    }

    /// Every type of the service, with extensions found, sorted by name.
    pub fn items(&self) -> Vec<TypeItem> {
        let mut items: Vec<TypeItem> = self
            .interner
            .defs
            .iter()
            .map(|def| TypeItem {
                name: def.name.clone(),
                doc: doc_of(&def.full).unwrap_or_else(|| {
                    let since = def.name.strip_prefix(def.role.as_str()).unwrap_or_default();
                    let since = since.trim_start_matches('V').replacen('_', ".", 1);
                    format!("The `{}` schema from microversion {since}.", def.role)
                }),
                shape: self.shape(def),
            })
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        items
    }

    /// Lets each struct extend the largest earlier struct of its role; then gives the
    /// versions of a role that still stand alone their shared fields as one group.
    pub fn find_bases(&self, items: &mut Vec<TypeItem>) {
        let roles: HashMap<&str, (&str, usize)> = self
            .interner
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), (d.role.as_str(), i)))
            .collect();
        find_bases(items, &roles);
        let roles: HashMap<String, String> = roles
            .iter()
            .map(|(name, (role, _))| ((*name).to_owned(), (*role).to_owned()))
            .collect();
        share_common_fields(items, &roles);
        let order: HashMap<String, usize> = self
            .interner
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), i))
            .collect();
        alias_equal_shapes(items, &order);
        items.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// The shape without documentation: what a user of the type sees.
fn shape_key(shape: &Shape) -> Option<String> {
    match shape {
        Shape::Struct {
            fields,
            closed,
            extras,
            base,
        } => {
            let fields: Vec<Field> = fields
                .iter()
                .map(|f| Field {
                    doc: None,
                    ..f.clone()
                })
                .collect();
            Some(format!("{:?}", (fields, closed, extras, base)))
        }
        Shape::Enum(variants) => Some(format!("{variants:?}")),
        Shape::Alias(_) => None,
    }
}

/// Schemas that differ only where the Rust types cannot tell (constraints, or a combinator
/// that is a `Value` either way) would give identical types: the later becomes an alias of
/// the first met.
fn alias_equal_shapes(items: &mut [TypeItem], order: &HashMap<String, usize>) {
    let mut indices: Vec<usize> = (0..items.len()).collect();
    indices.sort_by_key(|&i| (order.get(&items[i].name).copied().unwrap_or(usize::MAX), i));
    let mut first: HashMap<String, String> = HashMap::new();
    for i in indices {
        let Some(key) = shape_key(&items[i].shape) else {
            continue;
        };
        match first.get(&key) {
            Some(target) => items[i].shape = Shape::Alias(Ty::Named(target.clone())),
            None => {
                first.insert(key, items[i].name.clone());
            }
        }
    }
}

/// The fewest fields worth a shared group.
const MIN_SHARED: usize = 3;

/// For a role with several versions that do not extend one another (a field changed its type,
/// so no version is a superset of another), moves the fields they all share, unchanged, into
/// one `<Role>Common` struct that each extends. A version then declares only what is its own.
fn share_common_fields(items: &mut Vec<TypeItem>, roles: &HashMap<String, String>) {
    let mut by_role: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        if let (Shape::Struct { base: None, .. }, Some(role)) = (&item.shape, roles.get(&item.name))
        {
            by_role.entry(role.clone()).or_default().push(i);
        }
    }
    let taken: BTreeSet<String> = items.iter().map(|i| i.name.clone()).collect();
    for (role, members) in by_role {
        if members.len() < 2 {
            continue;
        }
        let field_sets: Vec<(Vec<Field>, bool)> = members
            .iter()
            .filter_map(|&i| match &items[i].shape {
                Shape::Struct { fields, closed, .. } => Some((fields.clone(), *closed)),
                _ => None,
            })
            .collect();
        let Some((first, closed)) = field_sets.first().cloned() else {
            continue;
        };
        if field_sets.iter().any(|(_, c)| *c != closed) {
            continue;
        }
        let shared: Vec<Field> = first
            .into_iter()
            .filter(|f| field_sets.iter().all(|(fields, _)| fields.contains(f)))
            .collect();
        let name = format!("{role}Common");
        if shared.len() < MIN_SHARED || taken.contains(&name) {
            continue;
        }
        for &i in &members {
            if let Shape::Struct { fields, base, .. } = &mut items[i].shape {
                fields.retain(|f| !shared.contains(f));
                *base = Some(name.clone());
            }
        }
        items.push(TypeItem {
            name,
            doc: format!("The fields every version of `{role}` has alike."),
            shape: Shape::Struct {
                fields: shared,
                closed,
                extras: None,
                base: None,
            },
        });
    }
}

/// The description (or title) of a schema, if any.
fn doc_of(schema: &Value) -> Option<String> {
    ["description", "title"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// The Rust name of a JSON field: snake case, a keyword gets a trailing `_`.
pub fn rust_field_name(json: &str) -> String {
    let mut name = json.to_snake_case();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("f_{name}");
    }
    if KEYWORDS.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

/// Finds, for each struct, the largest earlier struct of the same role whose fields it has
/// unchanged; the struct then extends it and declares only the fields it adds.
fn find_bases(items: &mut [TypeItem], roles: &HashMap<&str, (&str, usize)>) {
    let structs: Vec<(usize, String, Vec<Field>, bool)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match &item.shape {
            Shape::Struct { fields, closed, .. } => {
                Some((i, item.name.clone(), fields.clone(), *closed))
            }
            _ => None,
        })
        .collect();
    let order = |name: &str| roles.get(name).map(|(_, i)| *i);
    let role = |name: &str| roles.get(name).map(|(r, _)| *r);
    for (i, name, fields, closed) in &structs {
        let best = structs
            .iter()
            .filter(|(_, other, base_fields, base_closed)| {
                order(other) < order(name)
                    && role(other) == role(name)
                    && base_closed == closed
                    && !base_fields.is_empty()
                    && base_fields.len() < fields.len()
                    && base_fields.iter().all(|f| fields.contains(f))
            })
            .max_by_key(|(_, _, base_fields, _)| base_fields.len());
        if let Some((_, base_name, base_fields, _)) = best {
            let own: Vec<Field> = fields
                .iter()
                .filter(|f| !base_fields.contains(f))
                .cloned()
                .collect();
            if let Shape::Struct { fields, base, .. } = &mut items[*i].shape {
                *fields = own;
                *base = Some(base_name.clone());
            }
        }
    }
}

/// Drops the field checks of the types outside `keep` (those no response reaches).
pub fn keep_checks(items: &mut [TypeItem], keep: &BTreeSet<String>) {
    for item in items.iter_mut().filter(|i| !keep.contains(&i.name)) {
        if let Shape::Struct { fields, extras, .. } = &mut item.shape {
            *extras = None;
            for field in fields {
                field.check = None;
            }
        }
    }
}

/// The names of the types reachable from `roots` (through fields, bases and aliases).
pub fn reachable(
    items: &[TypeItem],
    interner: &Interner,
    roots: &BTreeSet<String>,
) -> BTreeSet<String> {
    let by_name: HashMap<&str, &TypeItem> = items.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.iter().cloned().collect();
    while let Some(name) = stack.pop() {
        let target = interner
            .resolve(&name)
            .map_or(name.clone(), |d| d.name.clone());
        if !seen.insert(target.clone()) {
            continue;
        }
        let Some(item) = by_name.get(target.as_str()) else {
            continue;
        };
        let mut next = BTreeSet::new();
        match &item.shape {
            Shape::Struct { fields, base, .. } => {
                for f in fields {
                    f.ty.named(&mut next);
                }
                next.extend(base.iter().cloned());
            }
            Shape::Alias(ty) => ty.named(&mut next),
            Shape::Enum(_) => {}
        }
        stack.extend(next);
    }
    seen
}

/// Emits the types, their decoders, and `Serialize` for those in `serialized`.
pub fn emit(
    items: &[TypeItem],
    interner: &Interner,
    serialized: &BTreeSet<String>,
    extra_derives: &[String],
) -> TokenStream {
    let extra: Vec<syn::Path> = extra_derives
        .iter()
        .filter_map(|d| syn::parse_str(d).ok())
        .collect();
    let extra = (!extra.is_empty()).then(|| quote!(#[derive(#(#extra),*)]));
    let mut out = Vec::new();
    let mut enums = Vec::new();
    let mut checks = CheckTable::default();
    let by_name: HashMap<&str, &TypeItem> = items.iter().map(|i| (i.name.as_str(), i)).collect();
    for item in items {
        let name = ident(&item.name);
        let doc = &item.doc;
        let serialize = serialized.contains(&item.name);
        match &item.shape {
            Shape::Struct {
                fields,
                closed,
                extras,
                base,
            } => {
                let code = emit_struct(
                    item,
                    fields,
                    (*closed, extras.as_deref()),
                    base.as_deref(),
                    serialize,
                    &by_name,
                    &mut checks,
                );
                out.push(quote!(#extra #code));
            }
            Shape::Enum(variants) => {
                enums.push(name.clone());
                let arms = variants.iter().map(|(_, v)| ident(v));
                let table = variants.iter().map(|(text, v)| {
                    let v = ident(v);
                    quote!((#text, Self::#v))
                });
                out.push(quote! {
                    #[doc = #doc]
                    #extra
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                    pub enum #name { #(#arms),* }

                    impl rt::StrEnum for #name {
                        const VARIANTS: &'static [(&'static str, Self)] = &[#(#table),*];
                    }
                });
            }
            Shape::Alias(ty) => {
                let ty = ty.tokens();
                out.push(quote! {
                    #[doc = #doc]
                    pub type #name = #ty;
                });
            }
        }
    }
    for alias in &interner.aliases {
        let (name, target) = (ident(&alias.name), ident(&alias.target));
        let doc = format!("[`{}`] in the role of `{}`.", alias.target, alias.name);
        out.push(quote! {
            #[doc = #doc]
            pub type #name = #target;
        });
    }
    let enums = (!enums.is_empty()).then(|| quote!(rt::str_enums!(#(#enums),*);));
    let tables = checks.emit();
    quote! {
        #(#out)*
        #enums
        #tables
    }
}

/// An index as an unsuffixed literal.
fn lit(i: usize) -> proc_macro2::Literal {
    proc_macro2::Literal::usize_unsuffixed(i)
}

/// The constraints table of a service: every distinct [`CheckSpec`] once (the members and
/// item checks they point at first), and the patterns and subschemas they use.
#[derive(Debug, Default)]
struct CheckTable {
    checks: Vec<TokenStream>,
    ids: BTreeMap<CheckSpec, usize>,
    patterns: Vec<String>,
    schemas: Vec<String>,
}

impl CheckTable {
    fn pattern(&mut self, pattern: &str) -> usize {
        match self.patterns.iter().position(|p| p == pattern) {
            Some(i) => i,
            None => {
                self.patterns.push(pattern.to_owned());
                self.patterns.len() - 1
            }
        }
    }

    /// The row of `spec`, added (with what it points at) if new.
    fn id(&mut self, spec: &CheckSpec) -> usize {
        if let Some(&id) = self.ids.get(spec) {
            return id;
        }
        let opt = |v: Option<u64>| match v {
            Some(n) => {
                let n = proc_macro2::Literal::u64_unsuffixed(n);
                quote!(Some(#n))
            }
            None => quote!(None),
        };
        let mut row = quote!(rt::Check::NONE);
        if spec.types != 0 {
            let names = [
                (1, "NULL"),
                (2, "BOOLEAN"),
                (4, "INTEGER"),
                (8, "NUMBER"),
                (16, "STRING"),
                (32, "ARRAY"),
                (64, "OBJECT"),
            ];
            let bits = names
                .iter()
                .filter(|(bit, _)| spec.types & bit != 0)
                .map(|(_, name)| {
                    let name = ident(name);
                    quote!(rt::ty::#name)
                });
            row.extend(quote!(.types(#(#bits)|*)));
        }
        if !spec.among.is_empty() {
            let values = spec.among.iter().map(|text| {
                match serde_json::from_str::<Value>(text).unwrap_or(Value::Null) {
                    Value::Bool(b) => quote!(rt::Lit::Bool(#b)),
                    Value::Number(n) => {
                        let n = proc_macro2::Literal::f64_unsuffixed(n.as_f64().unwrap_or(0.0));
                        quote!(rt::Lit::Num(#n))
                    }
                    Value::String(s) => quote!(rt::Lit::Str(#s)),
                    _ => quote!(rt::Lit::Null),
                }
            });
            row.extend(quote!(.among(&[#(#values),*])));
        }
        if spec.min_length.is_some() || spec.max_length.is_some() {
            let (min, max) = (opt(spec.min_length), opt(spec.max_length));
            row.extend(quote!(.len(#min, #max)));
        }
        if let Some(p) = &spec.pattern {
            let i = lit(self.pattern(p));
            row.extend(quote!(.pattern(&PATTERNS[#i])));
        }
        if let Some(f) = &spec.format
            && let Some((_, variant)) = FORMATS.iter().find(|(name, _)| name == f)
        {
            let variant = ident(variant);
            row.extend(quote!(.format(rt::Format::#variant)));
        }
        for (bound, method) in [(&spec.minimum, quote!(min)), (&spec.maximum, quote!(max))] {
            if let Some((text, exclusive)) = bound
                && let Ok(n) = text.parse::<f64>()
            {
                let n = proc_macro2::Literal::f64_unsuffixed(n);
                row.extend(quote!(.#method(#n, #exclusive)));
            }
        }
        if spec.min_items.is_some() || spec.max_items.is_some() || spec.unique_items {
            let (min, max, unique) = (opt(spec.min_items), opt(spec.max_items), spec.unique_items);
            row.extend(quote!(.count(#min, #max, #unique)));
        }
        if let Some(items) = &spec.items {
            let i = lit(self.id(items));
            row.extend(quote!(.items(&CHECKS[#i])));
        }
        if spec.min_properties.is_some() || spec.max_properties.is_some() {
            let (min, max) = (opt(spec.min_properties), opt(spec.max_properties));
            row.extend(quote!(.props(#min, #max)));
        }
        if let Some(p) = &spec.keys {
            let i = lit(self.pattern(p));
            row.extend(quote!(.keys(&PATTERNS[#i])));
        }
        if let Some(values) = &spec.values {
            let i = lit(self.id(values));
            row.extend(quote!(.values(&CHECKS[#i])));
        }
        for (members, method) in [
            (&spec.all_of, quote!(all_of)),
            (&spec.any_of, quote!(any_of)),
            (&spec.one_of, quote!(one_of)),
        ] {
            if !members.is_empty() {
                let ids: Vec<proc_macro2::Literal> =
                    members.iter().map(|m| lit(self.id(m))).collect();
                row.extend(quote!(.#method(&[#(&CHECKS[#ids]),*])));
            }
        }
        if let Some(schema) = &spec.schema {
            self.schemas.push(schema.clone());
            let i = lit(self.schemas.len() - 1);
            row.extend(quote!(.schema(&SCHEMAS[#i])));
        }
        self.checks.push(row);
        let id = self.checks.len() - 1;
        self.ids.insert(spec.clone(), id);
        id
    }

    fn emit(&self) -> TokenStream {
        let mut out = TokenStream::new();
        if !self.checks.is_empty() {
            let (n, rows) = (lit(self.checks.len()), &self.checks);
            out.extend(quote! {
                /// The value constraints of the fields above, by row (see `rt::Check`).
                static CHECKS: [rt::Check; #n] = [#(#rows),*];
            });
        }
        if !self.patterns.is_empty() {
            let (n, rows) = (lit(self.patterns.len()), &self.patterns);
            out.extend(quote! {
                /// The patterns of the constraints, compiled on first use.
                static PATTERNS: [rt::Pattern; #n] = [#(rt::Pattern::new(#rows)),*];
            });
        }
        if !self.schemas.is_empty() {
            let rows = &self.schemas;
            out.extend(quote!(rt::subschemas!(#(#rows),*);));
        }
        out
    }
}

fn emit_struct(
    item: &TypeItem,
    fields: &[Field],
    (closed, extras): (bool, Option<&CheckSpec>),
    base: Option<&str>,
    serialize: bool,
    by_name: &HashMap<&str, &TypeItem>,
    checks: &mut CheckTable,
) -> TokenStream {
    let name = ident(&item.name);
    let doc = match base {
        Some(base) => format!(
            "{} It extends [`{base}`] (its fields are in `base`, also through `Deref`).",
            item.doc
        ),
        None => item.doc.clone(),
    };
    let field_defs = fields.iter().map(|f| {
        let rust = ident(&f.rust);
        let ty = if f.required || matches!(f.ty, Ty::Nullable(_)) {
            f.ty.tokens()
        } else {
            let inner = f.ty.tokens();
            quote!(Option<#inner>)
        };
        let doc = f.doc.as_ref().map(|d| quote!(#[doc = #d]));
        quote!(#doc pub #rust: #ty)
    });
    let table: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let rust = ident(&f.rust);
            let json = &f.json;
            let kind = match (f.required, &f.ty) {
                (true, _) => quote!(req),
                (false, Ty::Nullable(_)) => quote!(nullable),
                (false, _) => quote!(opt),
            };
            match &f.check {
                Some(spec) => {
                    let id = lit(checks.id(spec));
                    quote!(#kind(#rust, #json, #id))
                }
                None => quote!(#kind(#rust, #json)),
            }
        })
        .collect();
    let mut modes = Vec::new();
    match (closed, extras) {
        (true, _) => {}
        (false, None) => modes.push(quote!(open)),
        (false, Some(spec)) => {
            let id = lit(checks.id(spec));
            modes.push(quote!(open(#id)));
        }
    }
    if serialize {
        modes.push(quote!(encode));
    }
    let params = ctor_params(item, by_name);
    let default = (serialize && params.is_empty()).then(|| quote!(, Default));
    let (base_field, base_marker, extends) = match base {
        Some(base) => {
            let base_ty = ident(base);
            let mutable = serialize.then(|| quote!(mut));
            (
                Some(quote!(pub base: #base_ty)),
                Some(quote!(+ base)),
                Some(quote!(rt::extends!(#mutable #name => #base_ty);)),
            )
        }
        None => (None, None, None),
    };
    let ctor =
        (serialize && has_constructor(item, &params)).then(|| constructor(item, &params, by_name));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq #default)]
        pub struct #name {
            #(#field_defs,)*
            #base_field
        }

        rt::record!(#(#modes)* #name { #(#table),* } #base_marker);
        #extends
        #ctor
    }
}

/// The parameters of a struct's constructor: its required fields, then its base's.
fn ctor_params(item: &TypeItem, by_name: &HashMap<&str, &TypeItem>) -> Vec<Field> {
    let Shape::Struct { fields, base, .. } = &item.shape else {
        return vec![];
    };
    let mut params: Vec<Field> = fields.iter().filter(|f| f.required).cloned().collect();
    if let Some(base) = base.as_deref().and_then(|b| by_name.get(b)) {
        params.extend(ctor_params(base, by_name));
    }
    params
}

/// Whether a request-side struct gets `new`: it pays where optional fields would otherwise be
/// spelled out as `None`; a struct of required fields only is built with its literal, and one
/// without parameters with `Default`.
fn has_constructor(item: &TypeItem, params: &[Field]) -> bool {
    let Shape::Struct { fields, base, .. } = &item.shape else {
        return false;
    };
    !params.is_empty() && (fields.iter().any(|f| !f.required) || base.is_some())
}

/// `new(required fields)` for a request-side struct; optional fields start empty and the base
/// is built from the rest of the parameters.
fn constructor(
    item: &TypeItem,
    params: &[Field],
    by_name: &HashMap<&str, &TypeItem>,
) -> TokenStream {
    let Shape::Struct { fields, base, .. } = &item.shape else {
        return quote!();
    };
    let name = ident(&item.name);
    let own_required = fields.iter().filter(|f| f.required).count();
    let args = params.iter().map(|f| {
        let rust = ident(&f.rust);
        let ty = match f.ty {
            Ty::String => quote!(impl Into<String>),
            _ => f.ty.tokens(),
        };
        quote!(#rust: #ty)
    });
    let inits = fields.iter().map(|f| {
        let rust = ident(&f.rust);
        match (f.required, &f.ty) {
            (true, Ty::String) => quote!(#rust: #rust.into()),
            (true, _) => quote!(#rust),
            (false, _) => quote!(#rust: None),
        }
    });
    let base_init = base.as_deref().map(|b| {
        let rest = &params[own_required..];
        let base_item = by_name.get(b).copied();
        let b = ident(b);
        let args = rest.iter().map(|f| ident(&f.rust));
        match base_item.map(|item| has_constructor(item, rest)) {
            _ if rest.is_empty() => quote!(base: #b::default()),
            Some(false) => {
                // A base of required fields only has no `new`: its literal.
                let inits = rest.iter().map(|f| {
                    let rust = ident(&f.rust);
                    match f.ty {
                        Ty::String => quote!(#rust: #rust.into()),
                        _ => quote!(#rust),
                    }
                });
                quote!(base: #b { #(#inits),* })
            }
            _ => quote!(base: #b::new(#(#args),*)),
        }
    });
    let doc = format!("A [`{name}`] with its required fields; the optional ones are `None`.");
    let allow = (params.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let comma = (base_init.is_some() && !fields.is_empty()).then(|| quote!(,));
    quote! {
        impl #name {
            #[doc = #doc]
            #allow
            pub fn new(#(#args),*) -> Self {
                Self { #(#inits),* #comma #base_init }
            }
        }
    }
}

/// Pairs of types whose Rust shape is identical, documentation aside (there should be none:
/// equal shapes are aliases).
pub fn duplicates(items: &[TypeItem]) -> Vec<(String, String)> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for item in items {
        let Some(key) = shape_key(&item.shape) else {
            continue;
        };
        if let Some(first) = seen.get(&key) {
            out.push((first.clone(), item.name.clone()));
        } else {
            seen.insert(key, item.name.clone());
        }
    }
    out
}
