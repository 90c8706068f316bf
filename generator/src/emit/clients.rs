//! One group's module: per operation a table (spans, statuses, response variants), a response
//! type, request and query enums, and the client whose methods send them.

use std::collections::BTreeMap;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::schemas::Embedded;
use super::{OperationTypes, Variant, ident, screaming, span_tokens};
use crate::intern::pascal;
use crate::resolve::{Group, ResolvedOperation, Service};
use crate::source::Diagnostic;
use crate::version::Span;

fn variant_ident(span: Span) -> Ident {
    ident(&span.min.suffix())
}

/// Merges consecutive rows that are equal but for their span.
fn merge_rows<T: PartialEq>(rows: Vec<(Span, T)>) -> Vec<(Span, T)> {
    let mut out: Vec<(Span, T)> = Vec::new();
    for (span, row) in rows {
        match out.last_mut() {
            Some((last, prev)) if *prev == row => last.max = span.max,
            _ => out.push((span, row)),
        }
    }
    out
}

/// The distinct response types of an operation, in order; `None` is a span without a body.
fn response_variants(t: &OperationTypes) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    for v in &t.response {
        if !out.iter().any(|o| o.ty == v.ty) {
            out.push(v.clone());
        }
    }
    out
}

/// How a method types its response.
enum ResponseKind {
    None,
    Single(Ident),
    Versioned(Ident),
}

/// The operation's table: request spans and response variants, equal neighbours merged.
fn operation_table(
    group: &Group,
    op: &ResolvedOperation,
    t: &OperationTypes,
    variants: &[Variant],
    embedded: &Embedded,
) -> TokenStream {
    let konst = screaming(&op.name);
    let op_name = &op.name;
    let first = &op.spans[0].facets;
    let (root, versioned) = (first.root, first.versioned);
    let spans = merge_rows(
        op.spans
            .iter()
            .map(|s| {
                let f = &s.facets;
                (
                    s.span,
                    (f.method.as_str(), f.path.clone(), f.statuses.clone()),
                )
            })
            .collect(),
    );
    let spans = spans.iter().map(|(span, (method, path, statuses))| {
        let span = span_tokens(*span);
        let statuses = statuses
            .iter()
            .map(|s| proc_macro2::Literal::u16_unsuffixed(*s));
        quote!(rt::op(#span, #method, #path, &[#(#statuses),*]))
    });
    let rows = merge_rows(
        t.bodies
            .iter()
            .map(|(span, _)| {
                let ty = t
                    .response
                    .iter()
                    .find(|v| v.span.contains(span.min))
                    .and_then(|v| v.ty.clone());
                let index = variants.iter().position(|v| v.ty == ty).unwrap_or(0);
                let schema = embedded
                    .lookup(&group.name, &op.name, *span)
                    .map(str::to_owned);
                (*span, (index, schema))
            })
            .collect(),
    );
    let rows = rows.iter().map(|(span, (index, schema))| {
        let span = span_tokens(*span);
        let index = proc_macro2::Literal::usize_unsuffixed(*index);
        match schema {
            Some(s) => {
                let s = ident(s);
                quote!(rt::body(#span, #index, &schemas::#s))
            }
            None => quote!(rt::no_body(#span, #index)),
        }
    });
    let doc = format!("The `{op_name}` operation: its spans, statuses and response variants.");
    let unversioned = (!versioned).then(|| quote!(.unversioned()));
    let at_root = root.then(|| quote!(.at_root()));
    quote! {
        #[doc = #doc]
        pub static #konst: rt::OperationMeta = rt::OperationMeta::new(
            #op_name,
            &super::SERVICE,
            &[#(#spans),*],
            &[#(#rows),*],
        ) #unversioned #at_root;
    }
}

/// The response type: nothing, the one type, or an enum over the answered version.
fn response_type(
    op: &ResolvedOperation,
    variants: &[Variant],
    items: &mut Vec<TokenStream>,
) -> ResponseKind {
    let typed: Vec<&String> = variants.iter().filter_map(|v| v.ty.as_ref()).collect();
    match (typed.as_slice(), variants.len()) {
        ([], _) => return ResponseKind::None,
        ([one], 1) => return ResponseKind::Single(ident(one)),
        _ => {}
    }
    let enum_name = format_ident!("{}Response", pascal(&op.name));
    let arms = variants.iter().map(|v| {
        let var = variant_ident(v.span);
        match &v.ty {
            Some(ty) => {
                let ty = ident(ty);
                quote!(#var(types::#ty))
            }
            None => quote!(#var),
        }
    });
    let table = variants.iter().map(|v| {
        let var = variant_ident(v.span);
        match v.ty {
            Some(_) => quote!(#var),
            None => quote!(#var(none)),
        }
    });
    let doc = format!(
        "The response of `{}`: the variant of the version the server answered. Each variant \
         is named after the first version it covers and lasts until the next one.",
        op.name
    );
    items.push(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub enum #enum_name {
            #(#arms,)*
        }

        rt::versioned_response!(#enum_name { #(#table),* });
    });
    ResponseKind::Versioned(enum_name)
}

/// A request-side enum (body or query) with one variant per span of a type, over a spans table.
fn request_enum(
    enum_name: &Ident,
    what: &str,
    op: &str,
    variants: &[Variant],
    same_types: &BTreeMap<String, String>,
) -> TokenStream {
    let spans: Vec<String> = variants
        .iter()
        .filter(|v| v.ty.is_some())
        .map(|v| format!("`{}` {}", v.span.min.suffix(), v.span))
        .collect();
    let doc = format!(
        "The {what} of `{op}`: the variant of the version you request ({}).",
        spans.join(", ")
    );
    let rust_type = |ty: &str| same_types.get(ty).cloned().unwrap_or_else(|| ty.to_owned());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in variants {
        if let Some(ty) = &v.ty {
            *counts.entry(rust_type(ty)).or_default() += 1;
        }
    }
    let typed: Vec<(&Variant, Ident, Ident)> = variants
        .iter()
        .filter_map(|v| Some((v, variant_ident(v.span), ident(v.ty.as_deref()?))))
        .collect();
    let arms = typed.iter().map(|(_, var, ty)| quote!(#var(types::#ty)));
    let table = typed.iter().map(|(v, var, _)| {
        let span = span_tokens(v.span);
        quote!(#var = #span)
    });
    let froms: Vec<TokenStream> = typed
        .iter()
        .filter(|(v, _, _)| v.ty.as_deref().is_some_and(|t| counts[&rust_type(t)] == 1))
        .map(|(_, var, ty)| quote!(#var(types::#ty)))
        .collect();
    let froms =
        (!froms.is_empty()).then(|| quote!(rt::variants_from!(#enum_name { #(#froms),* });));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(untagged)]
        pub enum #enum_name {
            #(#arms,)*
        }

        rt::versioned_request!(#enum_name of super::SERVICE { #(#table),* });
        #froms
    }
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

/// The module of one group: its operations, responses, requests, client and operation table.
pub fn emit_group(
    service: &Service,
    group: &Group,
    types: &BTreeMap<(String, String), OperationTypes>,
    embedded: &Embedded,
    same_types: &BTreeMap<String, String>,
) -> Result<TokenStream, Diagnostic> {
    let client = format_ident!("{}Client", pascal(&group.name));
    let marker = super::marker_name(&service.def.service);
    let mut items = Vec::new();
    let mut methods = Vec::new();
    let mut entries = Vec::new();
    let group_name = &group.name;

    for op in group.operations.values() {
        let Some(t) = types.get(&(group.name.clone(), op.name.clone())) else {
            continue;
        };
        let variants = response_variants(t);
        let mut responses = Vec::new();
        let kind = response_type(op, &variants, &mut responses);
        let konst = screaming(&op.name);
        items.push(operation_table(group, op, t, &variants, embedded));
        items.extend(responses);
        let (response_ty, finish, decode) = match kind {
            ResponseKind::None => (
                quote!(rt::NoBody),
                quote!(empty()),
                quote!(rt::decode_empty),
            ),
            ResponseKind::Single(ty) => (
                quote!(types::#ty),
                quote!(single()),
                quote!(rt::decode_single::<types::#ty>),
            ),
            ResponseKind::Versioned(e) => (
                quote!(#e),
                quote!(versioned()),
                quote!(rt::decode_versioned::<#e>),
            ),
        };
        entries.push(quote!(rt::OperationEntry::new(#group_name, &#konst, #decode)));

        // Arguments: path parameters, then the body, then the query.
        let mut args = vec![];
        let mut build = vec![quote!(rt::Request::new())];
        for p in path_params(op) {
            let i = ident(&super::types::rust_field_name(&p));
            args.push(quote!(#i: &str));
            build.push(quote!(.param(#p, #i)));
        }
        let mut headers: Vec<&(String, String)> = Vec::new();
        for span in &op.spans {
            for h in &span.facets.request_headers {
                if !headers.contains(&h) {
                    headers.push(h);
                }
            }
        }
        for (header, arg) in headers {
            let i = ident(&super::types::rust_field_name(arg));
            args.push(quote!(#i: &str));
            build.push(quote!(.header(#header, #i)));
        }
        if !t.request.is_empty() {
            let enum_name = format_ident!("{}Request", pascal(&op.name));
            items.push(request_enum(
                &enum_name,
                "request body",
                &op.name,
                &t.request,
                same_types,
            ));
            args.push(quote!(body: &#enum_name));
            build.push(quote!(.json(body)));
        }
        if !t.query.is_empty() {
            let enum_name = format_ident!("{}Query", pascal(&op.name));
            items.push(request_enum(
                &enum_name, "query", &op.name, &t.query, same_types,
            ));
            args.push(quote!(query: Option<&#enum_name>));
            build.push(quote!(.query(query)));
        }
        let method = ident(&op.name);
        let doc = super::docs::method_doc(group, op, t);
        methods.push(quote! {
            #[doc = #doc]
            pub async fn #method(&self, #(#args),*) -> rt::Result<#response_ty> {
                let request = #(#build)*;
                self.0.call(&#konst, request).await?.#finish
            }
        });
    }

    let summary = group.summary.clone().unwrap_or_default();
    let service_name = &service.def.service;
    let client_doc = format!(
        "{summary}\n\nThe `{}` client of the `{service_name}` service; its microversion is the one the requests carry.",
        group.name
    );
    Ok(quote! {
        #(#items)*

        /// Every operation of this group with its typed decoder (the service's `TABLE` lists
        /// the groups).
        pub static OPERATIONS: &[rt::OperationEntry] = &[#(#entries),*];

        #[doc = #client_doc]
        #[derive(Debug, Clone)]
        pub struct #client(rt::ServiceClient);

        rt::client!(#client of super::#marker);

        impl #client {
            #(#methods)*
        }
    })
}
