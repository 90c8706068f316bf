//! Rust code for one resolved service, in the order of the data flow: intern every schema
//! ([`intern_service`]), build the types ([`types`]), then write the embedded schemas
//! ([`schemas`]), the operation tables, response and request enums and clients ([`clients`]),
//! and the service module. Everything is laid out by prettyplease.

pub mod clients;
pub mod docs;
pub mod schemas;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span as IdentSpan, TokenStream};
use quote::{format_ident, quote};

use crate::intern::{Interner, pascal};
use crate::resolve::Service;
use crate::source::Diagnostic;
use crate::version::{Span, Version};

/// The generated files of one service, by path relative to the crate's `src/`.
#[derive(Debug)]
pub struct ServiceCode {
    /// File path -> content.
    pub files: BTreeMap<String, String>,
    /// Number of operations.
    pub operations: usize,
    /// Number of distinct types.
    pub types: usize,
    /// Sum over operations of the versions each exists at.
    pub operation_versions: usize,
    /// Pairs of structurally identical types (a bug if any).
    pub duplicate_types: Vec<(String, String)>,
}

/// How the code is laid out and what it derives.
#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// The path of the runtime's contract module (`squall_runtime::contract`).
    pub runtime: String,
    /// One file per service with inline modules, for `include!` from `OUT_DIR`.
    pub include_mode: bool,
    /// Extra derives on every generated struct and enum.
    pub derives: Vec<String>,
    /// The header line of every generated file.
    pub header: String,
}

impl Default for EmitOptions {
    fn default() -> Self {
        Self {
            runtime: "squall_runtime::contract".to_owned(),
            include_mode: false,
            derives: Vec::new(),
            header: String::new(),
        }
    }
}

/// An identifier for `name`: a keyword becomes raw (`r#type`), one that cannot be raw gets a
/// trailing `_` (`Self_`), and anything else that is not an identifier is made one.
pub(crate) fn ident(name: &str) -> Ident {
    let mut cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with(|c: char| c.is_ascii_digit()) {
        cleaned.insert(0, '_');
    }
    if syn::parse_str::<Ident>(&cleaned).is_ok() {
        Ident::new(&cleaned, IdentSpan::call_site())
    } else if matches!(cleaned.as_str(), "self" | "Self" | "super" | "crate" | "_") {
        Ident::new(&format!("{cleaned}_"), IdentSpan::call_site())
    } else {
        Ident::new_raw(&cleaned, IdentSpan::call_site())
    }
}

pub(crate) fn screaming(name: &str) -> Ident {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    ident(&out.replace("__", "_"))
}

/// `rt::Span::closed(2, 1, 2, 9)` or `rt::Span::open(2, 10)`.
pub(crate) fn span_tokens(span: Span) -> TokenStream {
    let lit = proc_macro2::Literal::u32_unsuffixed;
    let (a, b) = (lit(span.min.major), lit(span.min.minor));
    match span.max {
        Some(max) => {
            let (c, d) = (lit(max.major), lit(max.minor));
            quote!(rt::span(#a, #b, #c, #d))
        }
        None => quote!(rt::from(#a, #b)),
    }
}

pub(crate) fn version_tokens(v: Version) -> TokenStream {
    let major = proc_macro2::Literal::u32_unsuffixed(v.major);
    let minor = proc_macro2::Literal::u32_unsuffixed(v.minor);
    quote!(rt::Microversion::new(#major, #minor))
}

/// Splits every multi-line doc attribute into one attribute per line, each with a leading
/// space, so prettyplease prints `///` and `//!` lines rather than block comments.
struct DocLines;

impl syn::visit_mut::VisitMut for DocLines {
    fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
        let mut out = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            let text = match &attr.meta {
                syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            };
            let Some(text) = text.filter(|t| !t.starts_with(' ') || t.contains('\n')) else {
                out.push(attr);
                continue;
            };
            for line in text.lines() {
                let line = if line.is_empty() {
                    String::new()
                } else {
                    format!(" {}", line.trim_end())
                };
                let mut split = attr.clone();
                if let syn::Meta::NameValue(nv) = &mut split.meta {
                    nv.value = syn::parse_quote!(#line);
                }
                out.push(split);
            }
        }
        *attrs = out;
    }
}

/// Lays out a file: docs as `///` lines, prettyplease, the header on top.
pub(crate) fn render(mut file: syn::File, header: &str) -> String {
    syn::visit_mut::VisitMut::visit_file_mut(&mut DocLines, &mut file);
    format!("{header}\n{}", reflow_tables(&prettyplease::unparse(&file)))
}

pub(crate) fn parse_file(tokens: TokenStream, what: &str) -> Result<syn::File, Diagnostic> {
    syn::parse2(tokens).map_err(|e| Diagnostic {
        file: what.into(),
        line: None,
        pointer: String::new(),
        message: format!("generated code does not parse (generator bug): {e}"),
    })
}

/// A run of consecutive spans that share a value (a type name, or none), merged.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The versions.
    pub span: Span,
    /// The type over them, if any.
    pub ty: Option<String>,
}

fn merge_variants(items: Vec<(Span, Option<String>)>) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    for (span, ty) in items {
        match out.last_mut() {
            Some(last) if last.ty == ty => last.span.max = span.max,
            _ => out.push(Variant { span, ty }),
        }
    }
    out
}

/// The types of one operation's query, request and response, by span.
pub struct OperationTypes {
    /// Query types by span.
    pub query: Vec<Variant>,
    /// Request types by span.
    pub request: Vec<Variant>,
    /// Response types by span (`None`: no body).
    pub response: Vec<Variant>,
    /// The response schema (with every constraint) per span.
    pub bodies: Vec<(Span, Option<serde_json::Value>)>,
}

/// A span and the type names of its query, request and response body.
type SpanTypes = (Span, [Option<String>; 3], Option<serde_json::Value>);

/// Interns every schema of every operation, version by version, so names follow first versions.
fn intern_service(
    service: &Service,
    interner: &mut Interner,
) -> BTreeMap<(String, String), OperationTypes> {
    let mut by_op: BTreeMap<(String, String), Vec<SpanTypes>> = BTreeMap::new();
    for boundary in &service.boundaries {
        for group in service.groups.values() {
            for op in group.operations.values() {
                for span in op.spans.iter().filter(|s| s.span.min == *boundary) {
                    let base = pascal(&op.name);
                    let mut intern = |schema: &Option<serde_json::Value>, suffix: &str| {
                        schema.as_ref().map(|s| {
                            interner.intern_role(s, &format!("{base}{suffix}"), span.span.min)
                        })
                    };
                    let names = [
                        intern(&span.facets.query, "Query"),
                        intern(&span.facets.request, "Request"),
                        intern(&span.facets.body, "Response"),
                    ];
                    by_op
                        .entry((group.name.clone(), op.name.clone()))
                        .or_default()
                        .push((span.span, names, span.facets.body.clone()));
                }
            }
        }
    }
    by_op
        .into_iter()
        .map(|(key, spans)| {
            let pick = |i: usize| {
                merge_variants(spans.iter().map(|(s, n, _)| (*s, n[i].clone())).collect())
            };
            let types = OperationTypes {
                query: pick(0).into_iter().filter(|v| v.ty.is_some()).collect(),
                request: pick(1).into_iter().filter(|v| v.ty.is_some()).collect(),
                response: pick(2),
                bodies: spans.iter().map(|(s, _, b)| (*s, b.clone())).collect(),
            };
            (key, types)
        })
        .collect()
}

/// The Rust name of a service's marker type (`Compute`).
pub(crate) fn marker_name(service: &str) -> Ident {
    ident(&pascal(service))
}

/// Generates the files of one service.
pub fn generate_service(
    service: &Service,
    options: &EmitOptions,
) -> Result<ServiceCode, Diagnostic> {
    let name = &service.def.service;
    let header = if options.header.is_empty() {
        format!(
            "// @generated by squall-gen from specs/{name}. Do not edit: change the specs and regenerate.\n"
        )
    } else {
        options.header.clone()
    };
    let runtime: syn::Path = syn::parse_str(&options.runtime).map_err(|e| Diagnostic {
        file: "settings".into(),
        line: None,
        pointer: String::new(),
        message: format!("runtime path {:?} is not a Rust path: {e}", options.runtime),
    })?;

    // 1. Intern every schema; 2. build the types.
    let mut interner = Interner::default();
    let op_types = intern_service(service, &mut interner);
    let builder = types::TypeBuilder::new(&interner);
    let mut items = builder.items();
    // Constraints are checked where responses are decoded; request-only types leave them to
    // the server.
    let response_roots: BTreeSet<String> = op_types
        .values()
        .flat_map(|t| t.response.iter())
        .filter_map(|v| v.ty.clone())
        .collect();
    let answered = types::reachable(&items, &interner, &response_roots);
    types::keep_checks(&mut items, &answered);
    builder.find_bases(&mut items);
    let request_roots: BTreeSet<String> = op_types
        .values()
        .flat_map(|t| t.query.iter().chain(&t.request))
        .filter_map(|v| v.ty.clone())
        .collect();
    let serialized = types::reachable(&items, &interner, &request_roots);
    let type_tokens = types::emit(&items, &interner, &serialized, &options.derives);
    // Type names that denote the same Rust type (aliases): a request enum implements `From`
    // only for variant types that no other variant shares.
    let same_types = types::canonical_names(&items);
    let maps = type_tokens.to_string().contains("BTreeMap").then(|| {
        quote!(
            use std::collections::BTreeMap;
        )
    });

    let mut files = BTreeMap::new();
    let mut modules: Vec<(String, String, TokenStream)> = Vec::new();
    modules.push((
        "types".to_owned(),
        "The types of every distinct schema of this service, one per structure, named after \
         its role and the first microversion that has it."
            .to_owned(),
        quote! {
            #![allow(clippy::doc_markdown, clippy::large_enum_variant)]
            #maps
            use #runtime as rt;
            #type_tokens
        },
    ));

    // 3. Embedded schemas.
    let embedded = schemas::collect(&op_types, &interner);
    let schema_tokens = schemas::emit(&embedded, options.include_mode);
    if !options.include_mode {
        for (file, json) in schemas::files(&embedded, &header) {
            files.insert(format!("{name}/schemas/{file}"), json);
        }
    }
    modules.push((
        "schemas".to_owned(),
        "Response-body schemas, embedded whole (every constraint kept) and compiled on first use."
            .to_owned(),
        quote! {
            use #runtime as rt;
            #schema_tokens
        },
    ));

    // 4. Operations, responses, requests and clients, one module per group.
    let mut operation_count = 0;
    let mut operation_versions = 0;
    let mut group_mods = Vec::new();
    let mut accessors = Vec::new();
    for group in service.groups.values() {
        let code = clients::emit_group(service, group, &op_types, &embedded, &same_types)?;
        operation_count += group.operations.len();
        operation_versions += group
            .operations
            .values()
            .flat_map(|o| o.spans.iter())
            .map(|s| s.span.count(service.max))
            .sum::<usize>();
        let summary = group.summary.clone().unwrap_or_default();
        // A group whose operations answer no body (Ironic's events) names no schema.
        let text = code.to_string();
        let used: Vec<_> = ["schemas", "types"]
            .into_iter()
            .filter(|m| text.contains(&format!("{m} ::")))
            .map(|m| format_ident!("{m}"))
            .collect();
        let uses = (!used.is_empty()).then(|| quote! { use super::{#(#used),*}; });
        modules.push((
            group.name.clone(),
            format!(
                "{summary}\n\nOperations, response variants and the [`{}Client`].",
                pascal(&group.name)
            ),
            quote! {
                #![allow(clippy::large_enum_variant)]
                use #runtime as rt;
                #uses
                #code
            },
        ));
        let module = ident(&group.name);
        let client = format_ident!("{}Client", pascal(&group.name));
        let doc = group
            .summary
            .clone()
            .unwrap_or_else(|| format!("The {} group.", group.name));
        group_mods.push(quote! {
            #[doc = #doc]
            pub mod #module;
            pub use #module::#client;
        });
        let accessor_doc = format!("A [`{client}`] with this factory's settings.");
        accessors.push((module, client, accessor_doc));
    }

    let service_tokens = service_item(service, &accessors);
    let summary = service
        .def
        .summary
        .clone()
        .unwrap_or_else(|| format!("The {name} service."));
    let module_doc = format!(
        "{summary}\n\nGenerated from `specs/{name}`: microversions {}–{}, catalog type `{}`.",
        service.min, service.max, service.def.catalog_type
    );

    if options.include_mode {
        // One file: `pub mod <service> { ... }` with every module inline.
        let inline = modules.iter().map(|(m, doc, body)| {
            let m = ident(m);
            quote! {
                #[doc = #doc]
                pub mod #m { #body }
            }
        });
        let group_uses = service.groups.values().map(|g| {
            let module = ident(&g.name);
            let client = format_ident!("{}Client", pascal(&g.name));
            quote!(pub use #module::#client;)
        });
        let service_ident = ident(name);
        let file = parse_file(
            quote! {
                #[doc = #module_doc]
                pub mod #service_ident {
                    use #runtime as rt;
                    #(#inline)*
                    #(#group_uses)*
                    #service_tokens
                }
            },
            &format!("{name}.rs"),
        )?;
        files.insert(format!("{name}.rs"), render(file, &header));
    } else {
        for (module, doc, body) in &modules {
            let file = parse_file(
                quote! {
                    #![doc = #doc]
                    #body
                },
                &format!("{module}.rs"),
            )?;
            files.insert(format!("{name}/{module}.rs"), render(file, &header));
        }
        let mod_file = parse_file(
            quote! {
                #![doc = #module_doc]
                #![allow(clippy::module_inception)]
                use #runtime as rt;

                pub mod types;
                pub mod schemas;
                #(#group_mods)*

                #service_tokens
            },
            "mod.rs",
        )?;
        files.insert(format!("{name}/mod.rs"), render(mod_file, &header));
    }

    Ok(ServiceCode {
        files,
        operations: operation_count,
        types: items.len() + interner.aliases.len(),
        operation_versions,
        duplicate_types: types::duplicates(&items),
    })
}

/// The service's description, marker type and typed factory accessors.
fn service_item(service: &Service, accessors: &[(Ident, Ident, String)]) -> TokenStream {
    let def = &service.def;
    let name = &def.service;
    let catalog = &def.catalog_type;
    let (min, max, default) = (
        version_tokens(service.min),
        version_tokens(service.max),
        version_tokens(service.default),
    );
    let request_headers = def.microversion_headers.request.iter().map(|h| {
        let (n, f) = (&h.name, &h.format);
        quote!(rt::HeaderFormat { name: #n, format: #f })
    });
    let (rn, rf) = (
        &def.microversion_headers.response.name,
        &def.microversion_headers.response.format,
    );
    let (doc_path, strip) = (
        &def.version_document.path,
        def.version_document.strip_version_suffix,
    );
    let marker = marker_name(name);
    let marker_doc = format!(
        "The `{name}` service as a type: it ties the clients below to their factory, `rt::ClientsFactory<{marker}>`."
    );
    let trait_name = format_ident!("{}Clients", marker);
    let trait_doc =
        format!("Typed accessors for the `{name}` clients on its factory (`clients.{name}()`).");
    let decls = accessors.iter().map(|(m, c, doc)| {
        quote! {
            #[doc = #doc]
            fn #m(&self) -> impl Future<Output = Result<#c, rt::Error>> + Send;
        }
    });
    let tables = accessors.iter().map(|(m, _, _)| quote!(#m::OPERATIONS));
    let impls = accessors.iter().map(|(m, c, _)| {
        quote! {
            fn #m(&self) -> impl Future<Output = Result<#c, rt::Error>> + Send {
                self.client()
            }
        }
    });
    quote! {
        /// The service as its spec describes it: versions, headers and version document.
        pub static SERVICE: rt::ServiceMeta = rt::ServiceMeta {
            name: #name,
            catalog_type: #catalog,
            min_version: #min,
            max_version: #max,
            default_version: #default,
            request_headers: &[#(#request_headers),*],
            response_header: rt::HeaderFormat { name: #rn, format: #rf },
            version_document: rt::VersionDocument { path: #doc_path, strip_version_suffix: #strip },
        };

        #[doc = #marker_doc]
        #[derive(Debug, Clone, Copy)]
        pub struct #marker;

        impl rt::Service for #marker {
            const META: &'static rt::ServiceMeta = &SERVICE;
        }

        #[doc = #trait_doc]
        pub trait #trait_name {
            #(#decls)*
        }

        impl #trait_name for rt::ClientsFactory<#marker> {
            #(#impls)*
        }

        /// Every operation of the service with its typed decoder, group by group.
        pub static TABLE: rt::ServiceTable = rt::ServiceTable {
            service: &SERVICE,
            groups: &[#(#tables),*],
        };
    }
}

/// The table macros whose entries are laid out one per line.
const TABLE_MACROS: &[&str] = &[
    "rt::record!(",
    "rt::schemas!(",
    "rt::subschemas!(",
    "rt::variants_from!(",
    "rt::versioned_request!(",
];

/// Splits `text` at commas outside brackets and string literals.
fn split_top(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                current.push(c);
                while let Some(s) = chars.next() {
                    current.push(s);
                    if s == '\\' {
                        if let Some(escaped) = chars.next() {
                            current.push(escaped);
                        }
                    } else if s == '"' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => {
                out.push(current.trim().to_owned());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// Lays out the table macros prettyplease fills as prose: one entry per line, or the whole
/// call on one line when it fits.
fn reflow_tables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = &line[..line.len() - line.trim_start().len()];
        let Some(head) = TABLE_MACROS
            .iter()
            .find(|m| line.trim_start().starts_with(**m))
        else {
            out.push_str(line);
            out.push('\n');
            i += 1;
            continue;
        };
        // Gather the call up to its closing `);` at the same indentation.
        let mut call = line.trim().to_owned();
        while !call.ends_with(");") && i + 1 < lines.len() {
            i += 1;
            call.push(' ');
            call.push_str(lines[i].trim());
        }
        i += 1;
        let inner = call[head.len()..call.len() - 2].trim();
        let one_line = format!("{indent}{head}{inner});");
        // `Name { entries } + base`, or plain `entries`.
        let (prefix, entries, suffix) = match (inner.find('{'), inner.rfind('}')) {
            (Some(open), Some(close)) if !head.contains("schemas") => (
                format!("{} {{", inner[..open].trim()),
                &inner[open + 1..close],
                format!(
                    "}}{})",
                    inner[close + 1..]
                        .trim_end()
                        .trim_start_matches(' ')
                        .replace("+", " +")
                ),
            ),
            _ => (String::new(), inner, ")".to_owned()),
        };
        if one_line.len() <= 100 {
            out.push_str(&one_line);
            out.push('\n');
            continue;
        }
        let parts = split_top(entries);
        out.push_str(&format!("{indent}{head}{prefix}\n"));
        for part in parts {
            out.push_str(&format!("{indent}    {part},\n"));
        }
        out.push_str(&format!("{indent}{suffix};\n"));
    }
    out
}
