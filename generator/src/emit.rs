//! Rust code for one resolved service: typify for the types, quote for the clients, response
//! enums and embedded schemas, prettyplease for the layout.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro2::{Ident, Span as IdentSpan, TokenStream};
use quote::{format_ident, quote};

use crate::intern::{Interner, TypeDef, pascal};
use crate::resolve::{Group, Location, OperationSpan, ResolvedOperation, Service};
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
}

fn ident(name: &str) -> Ident {
    Ident::new(name, IdentSpan::call_site())
}

fn screaming(name: &str) -> Ident {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    ident(&out.replace("__", "_"))
}

fn version_tokens(v: Version) -> TokenStream {
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

fn max_tokens(v: Option<Version>) -> TokenStream {
    match v {
        Some(v) => {
            let v = version_tokens(v);
            quote!(Some(#v))
        }
        None => quote!(None),
    }
}

fn render(mut file: syn::File, header: &str) -> String {
    syn::visit_mut::VisitMut::visit_file_mut(&mut DocLines, &mut file);
    format!("{header}\n{}", prettyplease::unparse(&file))
}

fn parse_file(tokens: TokenStream, what: &str) -> Result<syn::File, Diagnostic> {
    syn::parse2(tokens).map_err(|e| Diagnostic {
        file: what.into(),
        line: None,
        pointer: String::new(),
        message: format!("generated code does not parse (generator bug): {e}"),
    })
}

/// A run of consecutive spans that share a value (a type name, or none), merged.
#[derive(Debug, Clone)]
struct Variant {
    span: Span,
    ty: Option<String>,
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

struct OperationTypes {
    query: Vec<Variant>,
    request: Vec<Variant>,
    response: Vec<Variant>,
}

/// A span and the type names of its query, request and response body.
type SpanTypes = (Span, [Option<String>; 3]);

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
                    let mut intern =
                        |schema: &Option<serde_json::Value>,
                         suffix: &str,
                         origin: &Option<Location>| {
                            let origin = origin.clone().unwrap_or(Location {
                                file: 0,
                                pointer: String::new(),
                            });
                            schema.as_ref().map(|s| {
                                interner.intern(
                                    s,
                                    &format!("{base}{suffix}"),
                                    span.span.min,
                                    &origin,
                                )
                            })
                        };
                    let names = [
                        intern(&span.facets.query, "Query", &span.origins.query),
                        intern(&span.facets.request, "Request", &span.origins.request),
                        intern(&span.facets.body, "Response", &span.origins.body),
                    ];
                    by_op
                        .entry((group.name.clone(), op.name.clone()))
                        .or_default()
                        .push((span.span, names));
                }
            }
        }
    }
    by_op
        .into_iter()
        .map(|(key, spans)| {
            let pick =
                |i: usize| merge_variants(spans.iter().map(|(s, n)| (*s, n[i].clone())).collect());
            let types = OperationTypes {
                query: pick(0).into_iter().filter(|v| v.ty.is_some()).collect(),
                request: pick(1).into_iter().filter(|v| v.ty.is_some()).collect(),
                response: pick(2),
            };
            (key, types)
        })
        .collect()
}

/// Runs typify over the definitions. A panic or error inside typify becomes a diagnostic that
/// names the schema's file and pointer.
fn typify(service: &Service, interner: &Interner) -> Result<TokenStream, Diagnostic> {
    let attempt = |defs: &[&TypeDef]| -> Result<TokenStream, String> {
        let schemas = defs
            .iter()
            .map(|d| {
                serde_json::from_value::<schemars::schema::Schema>(d.lowered.clone())
                    .map(|s| (d.name.clone(), s))
                    .map_err(|e| format!("schema {} is not valid JSON Schema: {e}", d.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut settings = typify::TypeSpaceSettings::default();
            settings
                .with_struct_builder(false)
                .with_derive("PartialEq".to_owned())
                .with_map_type("::std::collections::BTreeMap");
            // typify writes names in PascalCase (`KeypairV22`); keep the version readable.
            for def in defs {
                let mut patch = typify::TypeSpacePatch::default();
                patch.with_rename(&def.name);
                settings.with_patch(
                    heck::ToPascalCase::to_pascal_case(def.name.as_str()),
                    &patch,
                );
            }
            let mut space = typify::TypeSpace::new(&settings);
            space.add_ref_types(schemas).map_err(|e| e.to_string())?;
            Ok(space.to_stream())
        }));
        std::panic::set_hook(previous);
        match outcome {
            Ok(result) => result,
            Err(panic) => Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .map_or_else(
                    || "typify panicked".to_owned(),
                    |m| format!("typify panicked: {m}"),
                )),
        }
    };
    let mut sanitized = std::collections::HashMap::new();
    for def in &interner.defs {
        let key = heck::ToPascalCase::to_pascal_case(def.name.as_str());
        if let Some(other) = sanitized.insert(key, &def.name) {
            let file = &service.files[def.origin.file];
            return Err(file.diagnostic(
                &def.origin.pointer,
                format!(
                    "type names {other} and {} collide once written in PascalCase; rename a schema",
                    def.name
                ),
            ));
        }
    }
    let all: Vec<&TypeDef> = interner.defs.iter().collect();
    match attempt(&all) {
        Ok(tokens) => Ok(tokens),
        Err(whole) => {
            // Find the first definition that fails on its own (with what it needs).
            for def in &interner.defs {
                if let Err(message) = attempt(&interner.closure(&def.name)) {
                    let file = &service.files[def.origin.file];
                    return Err(file
                        .diagnostic(&def.origin.pointer, format!("type {}: {message}", def.name)));
                }
            }
            Err(service.files[0].diagnostic("", whole))
        }
    }
}

/// Generates the files of one service.
pub fn generate_service(service: &Service) -> Result<ServiceCode, Diagnostic> {
    let mut interner = Interner::default();
    let types = intern_service(service, &mut interner);
    let type_tokens = typify(service, &interner)?;
    let name = &service.def.service;
    let header = format!(
        "// @generated by squall-gen from specs/{name}. Do not edit: change the specs and regenerate.\n"
    );

    let mut files = BTreeMap::new();
    let types_file = parse_file(
        quote! {
            //! The types of every distinct schema of this service, one per schema, named after the
            //! first microversion that has it.
            #![allow(clippy::all, clippy::pedantic, missing_docs, non_camel_case_types)]
            #type_tokens
        },
        "types.rs",
    )?;
    files.insert(format!("{name}/types.rs"), render(types_file, &header));

    // Embedded response schemas: one static per distinct response type.
    let mut schema_items = Vec::new();
    let mut embedded = BTreeSet::new();
    for op_types in types.values() {
        for variant in &op_types.response {
            if let Some(ty) = &variant.ty
                && embedded.insert(ty.clone())
                && let Some(def) = interner.defs.iter().find(|d| &d.name == ty)
            {
                let konst = screaming(ty);
                let json = def.full.to_string();
                let doc = format!("The validation schema of [`{ty}`](super::types::{ty}).");
                schema_items.push(quote! {
                    #[doc = #doc]
                    pub static #konst: rt::EmbeddedSchema = rt::EmbeddedSchema::new(#ty, #json);
                });
            }
        }
    }
    let schemas_file = parse_file(
        quote! {
            //! Response-body schemas, embedded whole (every constraint kept) and compiled on first use.
            use squall_runtime as rt;
            #(#schema_items)*
        },
        "schemas.rs",
    )?;
    files.insert(format!("{name}/schemas.rs"), render(schemas_file, &header));

    let mut operation_count = 0;
    let mut operation_versions = 0;
    let mut group_mods = Vec::new();
    for group in service.groups.values() {
        let code = emit_group(service, group, &types)?;
        operation_count += group.operations.len();
        operation_versions += group
            .operations
            .values()
            .flat_map(|o| o.spans.iter())
            .map(|s| s.span.count(service.max))
            .sum::<usize>();
        files.insert(format!("{name}/{}.rs", group.name), render(code, &header));
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
    }

    let def = &service.def;
    let summary = def
        .summary
        .clone()
        .unwrap_or_else(|| format!("The {name} service."));
    let module_doc = format!(
        "{summary}\n\nGenerated from `specs/{name}`: microversions {}–{}, catalog type `{}`.",
        service.min, service.max, def.catalog_type
    );
    let (catalog, svc) = (&def.catalog_type, name);
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
    let mod_file = parse_file(
        quote! {
            #![doc = #module_doc]
            use squall_runtime as rt;

            pub mod schemas;
            pub mod types;
            #(#group_mods)*

            /// The service as its spec describes it: versions, headers and version document.
            pub static SERVICE: rt::ServiceMeta = rt::ServiceMeta {
                name: #svc,
                catalog_type: #catalog,
                min_version: #min,
                max_version: #max,
                default_version: #default,
                request_headers: &[#(#request_headers),*],
                response_header: rt::HeaderFormat { name: #rn, format: #rf },
                version_document: rt::VersionDocument { path: #doc_path, strip_version_suffix: #strip },
            };
        },
        "mod.rs",
    )?;
    files.insert(format!("{name}/mod.rs"), render(mod_file, &header));

    Ok(ServiceCode {
        files,
        operations: operation_count,
        types: interner.defs.len(),
        operation_versions,
    })
}

fn path_params(op: &ResolvedOperation) -> Vec<String> {
    let mut params = Vec::new();
    for span in &op.spans {
        let mut rest = span.facets.path.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let name = rest[open + 1..open + close].to_owned();
            if !params.contains(&name) {
                params.push(name);
            }
            rest = &rest[open + close + 1..];
        }
    }
    params
}

fn span_doc(span: Span) -> String {
    span.to_string()
}

/// Rustdoc for a method: summary, path, and what changes at each version.
fn method_doc(group: &Group, op: &ResolvedOperation, t: &OperationTypes) -> String {
    let first = &op.spans[0].facets;
    let mut doc = first
        .summary
        .clone()
        .unwrap_or_else(|| format!("The `{}` operation.", op.name));
    doc.push_str(&format!("\n\n`{} {}`", first.method.as_str(), first.path));
    doc.push_str("\n\n# Microversions\n");
    let mut previous: Option<&OperationSpan> = None;
    for span in &op.spans {
        let f = &span.facets;
        let mut parts = Vec::new();
        let statuses = f
            .statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("status {statuses}"));
        let typed = |variants: &[Variant]| {
            variants
                .iter()
                .find(|v| v.span.contains(span.span.min))
                .and_then(|v| v.ty.clone())
        };
        if let Some(ty) = typed(&t.request) {
            parts.push(format!("request [`{ty}`](super::types::{ty})"));
        }
        if let Some(ty) = typed(&t.query) {
            parts.push(format!("query [`{ty}`](super::types::{ty})"));
        }
        match typed(&t.response) {
            Some(ty) => parts.push(format!("response [`{ty}`](super::types::{ty})")),
            None => parts.push("no body".to_owned()),
        }
        if previous.is_some_and(|p| p.facets.path != f.path || p.facets.method != f.method) {
            parts.push(format!("`{} {}`", f.method.as_str(), f.path));
        }
        if !f.errors.is_empty() {
            let errors = f
                .errors
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!("errors {errors}"));
        }
        doc.push_str(&format!(
            "\n- **{}**: {}.",
            span_doc(span.span),
            parts.join("; ")
        ));
        if previous.is_some()
            && let Some(change) = group.changes.get(&span.span.min)
        {
            doc.push_str(&format!(" *Changed at {}:* {change}", span.span.min));
        }
        previous = Some(span);
    }
    if let Some(last) = op.spans.last()
        && !last.facets.headers.is_empty()
    {
        doc.push_str(&format!(
            "\n\nResponse headers: {}.",
            last.facets.headers.join(", ")
        ));
    }
    doc
}

fn variant_ident(span: Span) -> Ident {
    ident(&span.min.suffix())
}

/// A request-side enum (body or query) with one variant per type range.
fn request_enum(enum_name: &Ident, what: &str, op: &str, variants: &[Variant]) -> TokenStream {
    let doc = format!(
        "The {what} of `{op}`, one variant per microversion range; pick the variant for the version you request."
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in variants {
        if let Some(ty) = &v.ty {
            *counts.entry(ty).or_default() += 1;
        }
    }
    let arms = variants.iter().filter_map(|v| {
        let ty = ident(v.ty.as_deref()?);
        let var = variant_ident(v.span);
        let doc = format!("Microversions {}.", v.span);
        Some(quote!(#[doc = #doc] #var(types::#ty)))
    });
    let names = variants.iter().map(|v| {
        let var = variant_ident(v.span);
        let text = var.to_string();
        quote!(Self::#var(_) => #text)
    });
    let spans = variants.iter().map(|v| {
        let var = variant_ident(v.span);
        let (min, max) = (version_tokens(v.span.min), max_tokens(v.span.max));
        quote!(Self::#var(_) => (#min, #max))
    });
    let froms = variants.iter().filter_map(|v| {
        let ty_name = v.ty.as_deref()?;
        if counts.get(ty_name).copied().unwrap_or(0) > 1 {
            return None;
        }
        let ty = ident(ty_name);
        let var = variant_ident(v.span);
        Some(quote! {
            impl From<types::#ty> for #enum_name {
                fn from(value: types::#ty) -> Self {
                    Self::#var(value)
                }
            }
        })
    });
    let name_text = enum_name.to_string();
    let all_spans = variants.iter().map(|v| {
        let (min, max) = (version_tokens(v.span.min), max_tokens(v.span.max));
        quote!((#min, #max))
    });
    let builders = variants.iter().enumerate().map(|(index, v)| {
        let var = variant_ident(v.span);
        let build = if v.ty.is_some() {
            quote!(serde_json::from_value(value).map(Self::#var).map_err(|source| rt::VariantError::Json { what: #name_text, source }))
        } else {
            let span = v.span.to_string();
            quote!(Err(rt::VariantError::NotAccepted { what: #name_text, version: version.to_string(), span: #span }))
        };
        quote!(Some(#index) => #build)
    });
    quote! {
        impl #enum_name {
            /// Builds the variant for `version` from JSON: the range that covers it, the newest for
            /// `latest`, the service's default version for none.
            pub fn from_json_at(version: rt::ApiVersion, value: serde_json::Value) -> Result<Self, rt::VariantError> {
                const SPANS: &[(rt::Microversion, Option<rt::Microversion>)] = &[#(#all_spans),*];
                match rt::pick_variant(SPANS, version, super::SERVICE.default_version) {
                    #(#builders,)*
                    _ => Err(rt::VariantError::NoVariant { what: #name_text, version: version.to_string() }),
                }
            }
        }

        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(untagged)]
        pub enum #enum_name {
            #(#arms,)*
        }

        impl rt::VersionedRequest for #enum_name {
            fn variant_name(&self) -> &'static str {
                match self {
                    #(#names,)*
                }
            }

            fn span(&self) -> (rt::Microversion, Option<rt::Microversion>) {
                match self {
                    #(#spans,)*
                }
            }
        }

        #(#froms)*
    }
}

fn emit_group(
    service: &Service,
    group: &Group,
    types: &BTreeMap<(String, String), OperationTypes>,
) -> Result<syn::File, Diagnostic> {
    let client = format_ident!("{}Client", pascal(&group.name));
    let mut items = Vec::new();
    let mut methods = Vec::new();
    let mut blocking_methods = Vec::new();
    let schemas_mod = quote!(super::schemas);

    for op in group.operations.values() {
        let Some(t) = types.get(&(group.name.clone(), op.name.clone())) else {
            continue;
        };
        let konst = screaming(&op.name);
        let op_name = &op.name;
        let first = &op.spans[0];
        let last = &op.spans[op.spans.len() - 1];
        let (min, max) = (version_tokens(first.span.min), max_tokens(last.span.max));
        let (root, versioned) = (first.facets.root, first.facets.versioned);
        let spans = op.spans.iter().map(|s| {
            let (smin, smax) = (version_tokens(s.span.min), max_tokens(s.span.max));
            let (method, path) = (s.facets.method.as_str(), &s.facets.path);
            let statuses = &s.facets.statuses;
            quote!(rt::OpSpan { min: #smin, max: #smax, method: #method, path: #path, statuses: &[#(#statuses),*] })
        });
        let variant_meta = t.response.iter().map(|v| {
            let (vmin, vmax) = (version_tokens(v.span.min), max_tokens(v.span.max));
            let vname = v.span.min.suffix();
            let body = match &v.ty {
                Some(ty) => {
                    let s = screaming(ty);
                    quote!(Some(&#schemas_mod::#s))
                }
                None => quote!(None),
            };
            quote!(rt::VariantMeta { name: #vname, min: #vmin, max: #vmax, body: #body })
        });
        let op_doc =
            format!("The `{op_name}` operation: its spans, statuses and response variants.");
        items.push(quote! {
            #[doc = #op_doc]
            pub static #konst: rt::OperationMeta = rt::OperationMeta {
                name: #op_name,
                service: &super::SERVICE,
                min: #min,
                max: #max,
                root: #root,
                versioned: #versioned,
                spans: &[#(#spans),*],
                variants: &[#(#variant_meta),*],
            };
        });

        // The response type: an enum over the answered version, or NoBody.
        let any_body = t.response.iter().any(|v| v.ty.is_some());
        let response_ty = if any_body {
            let enum_name = format_ident!("{}Response", pascal(&op.name));
            let arms = t.response.iter().map(|v| {
                let var = variant_ident(v.span);
                let doc = format!("Answered at microversions {}.", v.span);
                match &v.ty {
                    Some(ty) => {
                        let ty = ident(ty);
                        quote!(#[doc = #doc] #var(types::#ty))
                    }
                    None => quote!(#[doc = #doc] #var),
                }
            });
            let decodes = t.response.iter().enumerate().map(|(i, v)| {
                let var = variant_ident(v.span);
                match &v.ty {
                    Some(_) => quote!(#i => body.json().map(Self::#var)),
                    None => quote!(#i => body.empty().map(|()| Self::#var)),
                }
            });
            let doc = format!(
                "The response of `{op_name}`, one variant per microversion range; the variant is chosen by the version the server answered."
            );
            items.push(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq)]
                pub enum #enum_name {
                    #(#arms,)*
                }

                impl rt::VersionedBody for #enum_name {
                    fn decode(variant: usize, body: rt::BodyDecoder<'_>) -> Result<Self, rt::DecodeError> {
                        match variant {
                            #(#decodes,)*
                            other => Err(body.unknown_variant(other)),
                        }
                    }
                }
            });
            quote!(#enum_name)
        } else {
            quote!(rt::NoBody)
        };

        // Arguments: path parameters, then the body, then the query.
        let params = path_params(op);
        let param_idents: Vec<Ident> = params.iter().map(|p| ident(p)).collect();
        let mut args = vec![];
        let mut call_args = vec![];
        let mut build = vec![quote!(let request = rt::Request::new();)];
        for (p, i) in params.iter().zip(&param_idents) {
            args.push(quote!(#i: &str));
            call_args.push(quote!(#i));
            build.push(quote!(let request = request.param(#p, #i);));
        }
        if !t.request.is_empty() {
            let enum_name = format_ident!("{}Request", pascal(&op.name));
            items.push(request_enum(
                &enum_name,
                "request body",
                op_name,
                &t.request,
            ));
            args.push(quote!(body: &#enum_name));
            call_args.push(quote!(body));
            build.push(quote!(let request = request.json(body);));
        }
        if !t.query.is_empty() {
            let enum_name = format_ident!("{}Query", pascal(&op.name));
            items.push(request_enum(&enum_name, "query", op_name, &t.query));
            args.push(quote!(query: Option<&#enum_name>));
            call_args.push(quote!(query));
            build.push(quote!(let request = request.query(query);));
        }
        let method = ident(&op.name);
        let doc = method_doc(group, op, t);
        methods.push(quote! {
            #[doc = #doc]
            pub async fn #method(&self, #(#args),*) -> Result<rt::Response<#response_ty>, rt::Error> {
                #(#build)*
                self.inner.call(&#konst, request).await
            }
        });
        let blocking_doc = format!(
            "Blocking [`{client}::{}`](super::{client}::{}).",
            op.name, op.name
        );
        blocking_methods.push(quote! {
            #[doc = #blocking_doc]
            pub fn #method(&self, #(#args),*) -> Result<rt::Response<#response_ty>, rt::Error> {
                self.runtime.block_on(self.inner.#method(#(#call_args),*))
            }
        });
    }

    let summary = group.summary.clone().unwrap_or_default();
    let service_name = &service.def.service;
    let client_doc = format!(
        "{summary}\n\nThe `{}` client of the `{service_name}` service. Build it from a [`rt::ServiceClient`]; its microversion is the one the requests carry.",
        group.name
    );
    let module_doc = format!("{summary}\n\nOperations, response variants and the [`{client}`].");
    let blocking_client_doc = format!("A blocking [`{client}`](super::{client}).");
    let tokens = quote! {
        #![doc = #module_doc]
        #![allow(clippy::large_enum_variant, non_camel_case_types)]
        use squall_runtime as rt;
        use super::types;

        #(#items)*

        #[doc = #client_doc]
        #[derive(Debug, Clone)]
        pub struct #client {
            inner: rt::ServiceClient,
        }

        impl #client {
            /// Wraps a service client (endpoint, token, microversion).
            pub fn new(inner: rt::ServiceClient) -> Self {
                Self { inner }
            }

            /// The same client at another microversion.
            pub fn with_microversion(self, version: rt::ApiVersion) -> Self {
                Self { inner: self.inner.with_microversion(version) }
            }

            /// The requested microversion.
            pub fn microversion(&self) -> rt::ApiVersion {
                self.inner.microversion()
            }

            /// The underlying service client.
            pub fn service_client(&self) -> &rt::ServiceClient {
                &self.inner
            }

            #(#methods)*
        }

        impl rt::GeneratedClient for #client {
            const SERVICE: &'static rt::ServiceMeta = &super::SERVICE;

            fn from_service_client(inner: rt::ServiceClient) -> Self {
                Self::new(inner)
            }
        }

        /// Blocking clients, for plain synchronous code.
        pub mod blocking {
            use super::*;

            #[doc = #blocking_client_doc]
            #[derive(Debug, Clone)]
            pub struct #client {
                inner: super::#client,
                runtime: rt::BlockingRuntime,
            }

            impl #client {
                /// Wraps an async client and the runtime that drives it.
                pub fn new(inner: super::#client, runtime: rt::BlockingRuntime) -> Self {
                    Self { inner, runtime }
                }

                /// The async client.
                pub fn async_client(&self) -> &super::#client {
                    &self.inner
                }

                #(#blocking_methods)*
            }
        }
    };
    parse_file(tokens, &format!("{}.rs", group.name))
}
