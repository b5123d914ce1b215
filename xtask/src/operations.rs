//! `operations.rs`: the operation table, as data and as one marker type per operation.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, Operation, ReferenceOr};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::names::{inner_docs, ref_name, snake, type_ident, upper_camel};
use crate::{err, GenError};

/// One operation of the spec, as the generator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationRow {
    /// The `operationId`.
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path.
    pub path: String,
    /// The request body's schema name.
    pub request: Option<String>,
    /// The success body's schema name.
    pub response: Option<String>,
    /// Whether it may be re-sent after it may have been received.
    pub idempotent: bool,
    /// Whether it needs the auth cookie (the operation's or the document's `security`, when it
    /// is not optional).
    pub authenticated: bool,
    /// The statuses answered before the call is acted on: the `x-not-acted-on` lists of the
    /// security schemes the operation names (its own `security`, or the document's).
    pub not_acted_on: Vec<u16>,
    /// The summary, for docs.
    pub summary: String,
}

/// The operations of the spec, in path order then method order.
pub fn collect_operations(api: &OpenAPI) -> Result<Vec<OperationRow>, GenError> {
    let global_security = api.security.as_deref().is_some_and(needs_credentials);
    let schemes = not_acted_on_by_scheme(api)?;
    let mut rows = Vec::new();
    for (path, item) in &api.paths.paths {
        let ReferenceOr::Item(item) = item else {
            return err(format!(
                "path {path}: references to path items are not supported"
            ));
        };
        for (method, op) in item.iter() {
            let mut row = operation_row(path, method, op, global_security)?;
            let security = op.security.as_deref().or(api.security.as_deref());
            let mut statuses = BTreeSet::new();
            for requirement in security.unwrap_or_default() {
                for scheme in requirement.keys() {
                    statuses.extend(schemes.get(scheme).into_iter().flatten().copied());
                }
            }
            row.not_acted_on = statuses.into_iter().collect();
            rows.push(row);
        }
    }
    let mut ids = BTreeSet::new();
    for r in &rows {
        if !ids.insert(r.id.clone()) {
            return err(format!("operationId {} is used twice", r.id));
        }
    }
    Ok(rows)
}

/// Each security scheme's `x-not-acted-on` statuses.
fn not_acted_on_by_scheme(
    api: &OpenAPI,
) -> Result<std::collections::BTreeMap<String, Vec<u16>>, GenError> {
    let mut out = std::collections::BTreeMap::new();
    let Some(components) = &api.components else {
        return Ok(out);
    };
    for (name, scheme) in &components.security_schemes {
        let ReferenceOr::Item(scheme) = scheme else {
            return err(format!(
                "security scheme {name}: references are not supported"
            ));
        };
        let extensions = match scheme {
            openapiv3::SecurityScheme::APIKey { extensions, .. }
            | openapiv3::SecurityScheme::HTTP { extensions, .. }
            | openapiv3::SecurityScheme::OAuth2 { extensions, .. }
            | openapiv3::SecurityScheme::OpenIDConnect { extensions, .. } => extensions,
        };
        let Some(list) = extensions.get("x-not-acted-on") else {
            continue;
        };
        let statuses = list
            .as_array()
            .map(|a| a.iter().map(|v| v.as_u64()).collect::<Option<Vec<_>>>())
            .unwrap_or_default()
            .ok_or(())
            .and_then(|v| {
                v.into_iter()
                    .map(|n| {
                        u16::try_from(n)
                            .ok()
                            .filter(|n| (400..500).contains(n))
                            .ok_or(())
                    })
                    .collect::<Result<Vec<u16>, ()>>()
            });
        match statuses {
            Ok(s) => {
                out.insert(name.clone(), s);
            }
            Err(()) => {
                return err(format!(
                    "security scheme {name}: x-not-acted-on must be a list of 4xx statuses"
                ))
            }
        }
    }
    Ok(out)
}

/// Whether a security requirement list demands a credential: it is not empty, and none of its
/// alternatives is the empty requirement.
fn needs_credentials(requirements: &[openapiv3::SecurityRequirement]) -> bool {
    !requirements.is_empty() && requirements.iter().all(|r| !r.is_empty())
}

fn operation_row(
    path: &str,
    method: &str,
    op: &Operation,
    global_security: bool,
) -> Result<OperationRow, GenError> {
    let id = op
        .operation_id
        .clone()
        .unwrap_or_else(|| snake(&format!("{method}_{path}")));
    let request = match &op.request_body {
        None => None,
        Some(ReferenceOr::Reference { reference }) => {
            return err(format!(
                "operation {id}: requestBody references ({reference}) are not supported"
            ))
        }
        Some(ReferenceOr::Item(body)) => match body.content.get("application/json") {
            None => return err(format!("operation {id}: no application/json request body")),
            Some(media) => match &media.schema {
                Some(ReferenceOr::Reference { reference }) => Some(ref_name(reference)?.to_owned()),
                _ => {
                    return err(format!(
                        "operation {id}: the request body must reference a named schema"
                    ))
                }
            },
        },
    };
    let mut response = None;
    for (status, resp) in &op.responses.responses {
        let openapiv3::StatusCode::Code(code) = status else {
            continue;
        };
        if !(200..300).contains(code) {
            continue;
        }
        let ReferenceOr::Item(resp) = resp else {
            return err(format!(
                "operation {id}: response references are not supported"
            ));
        };
        if let Some(media) = resp.content.get("application/json") {
            match &media.schema {
                Some(ReferenceOr::Reference { reference }) => {
                    response = Some(ref_name(reference)?.to_owned())
                }
                _ => {
                    return err(format!(
                        "operation {id}: the success body must reference a named schema"
                    ))
                }
            }
        }
        break;
    }
    let idempotent = op
        .extensions
        .get("x-idempotent")
        .and_then(|v| v.as_bool())
        .unwrap_or(method.eq_ignore_ascii_case("get"));
    // `security: []` means none; a list with an empty requirement (`[{}, {cookie: []}]`)
    // means optional: the credential is sent when there is one, but not obtained first.
    let authenticated = match &op.security {
        Some(s) => needs_credentials(s),
        None => global_security,
    };
    Ok(OperationRow {
        id,
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        request,
        response,
        idempotent,
        authenticated,
        not_acted_on: Vec::new(),
        summary: op.summary.clone().unwrap_or_default(),
    })
}

/// The provider's name, from the spec's `info.x-provider`: the name core's `Operation`s carry
/// into errors and traces.
pub(crate) fn provider_name(api: &OpenAPI) -> Result<String, GenError> {
    match api
        .info
        .extensions
        .get("x-provider")
        .and_then(|v| v.as_str())
    {
        Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
        _ => err(
            "info.x-provider is missing: name the provider (e.g. `x-provider: smartpay`); \
             the generated operations carry it into errors and traces",
        ),
    }
}

/// The name of `http::StatusCode`'s constant for a status that may be declared "not acted on".
fn status_const(id: &str, status: u16) -> Result<proc_macro2::Ident, GenError> {
    let name = match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        407 => "PROXY_AUTHENTICATION_REQUIRED",
        421 => "MISDIRECTED_REQUEST",
        429 => "TOO_MANY_REQUESTS",
        other => {
            return err(format!(
                "operation {id}: x-not-acted-on status {other} has no name in the generator"
            ))
        }
    };
    Ok(format_ident!("{name}"))
}

pub(crate) fn operations_file(
    ops: &[OperationRow],
    provider: &str,
    source: &str,
) -> Result<TokenStream, GenError> {
    let mut rows = Vec::new();
    let mut markers = Vec::new();
    for op in ops {
        let OperationRow {
            id,
            method,
            path,
            idempotent,
            authenticated,
            ..
        } = op;
        let request = match &op.request {
            Some(r) => quote! { Some(#r) },
            None => quote! { None },
        };
        let response = op.response.clone().unwrap_or_else(|| "()".into());
        let method_const = match method.as_str() {
            "GET" | "PUT" | "POST" | "DELETE" | "OPTIONS" | "HEAD" | "PATCH" | "TRACE" => {
                format_ident!("{method}")
            }
            other => return err(format!("operation {id}: unsupported method {other}")),
        };
        let operation = if *idempotent {
            quote! { payments_core::Operation::idempotent(PROVIDER, #id) }
        } else {
            quote! { payments_core::Operation::not_idempotent(PROVIDER, #id) }
        };
        let operation = if op.not_acted_on.is_empty() {
            operation
        } else {
            let statuses = op
                .not_acted_on
                .iter()
                .map(|&s| status_const(id, s))
                .collect::<Result<Vec<_>, _>>()?;
            quote! { #operation.not_acted_on_when(&[#(http::StatusCode::#statuses),*]) }
        };
        let marker = format_ident!("{}Op", upper_camel(id));
        // Each operation's info is stated once, on its marker; the table lists the markers'.
        rows.push(quote! { #marker::INFO, });
        let req_ty = match &op.request {
            Some(r) => {
                let t = type_ident(r);
                quote! { crate::model::#t }
            }
            None => quote! { () },
        };
        let resp_ty = match &op.response {
            Some(r) => {
                let t = type_ident(r);
                quote! { crate::model::#t }
            }
            None => quote! { () },
        };
        let mdoc = if op.summary.is_empty() {
            format!(" `{method} {path}`.")
        } else {
            format!(" `{method} {path}`: {}", op.summary)
        };
        markers.push(quote! {
            #[doc = #mdoc]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct #marker;

            impl ApiOperation for #marker {
                type Request = #req_ty;
                type Response = #resp_ty;
                const INFO: OperationInfo = OperationInfo {
                    id: #id,
                    method: http::Method::#method_const,
                    path: #path,
                    request: #request,
                    response: #response,
                    operation: #operation,
                    authenticated: #authenticated,
                };
            }
        });
    }
    let module_docs = inner_docs(&format!(
        "The operation table of `{source}`: every operation's method, path, request type and\nresponse type, as data ([`OPERATIONS`]) and as types ([`ApiOperation`])."
    ));
    Ok(quote! {
        #module_docs

        /// The provider's name (the spec's `info.x-provider`), as core's [`payments_core::Operation`]s
        /// carry it into errors and traces.
        pub const PROVIDER: &str = #provider;

        /// One row of the operation table.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct OperationInfo {
            /// The spec's `operationId`.
            pub id: &'static str,
            /// The HTTP method.
            pub method: http::Method,
            /// The path, relative to the base URL.
            pub path: &'static str,
            /// The name of the request body's type, if there is a body.
            pub request: Option<&'static str>,
            /// The name of the success body's type (`()` when there is none).
            pub response: &'static str,
            /// The operation as core's retry machinery sees it: its name, and whether it may be
            /// re-sent after it may have been received (the spec's `x-idempotent`).
            pub operation: payments_core::Operation,
            /// Whether the operation needs the auth cookie, so that the client logs in first. An
            /// operation whose `security` is optional does not, but still gets the cookie when
            /// the client has one.
            pub authenticated: bool,
        }

        /// An operation, with its request and response types.
        pub trait ApiOperation {
            /// The request body (`()` when there is none).
            type Request: serde::Serialize;
            /// The success body.
            type Response: serde::de::DeserializeOwned;
            /// The operation's row of the table.
            const INFO: OperationInfo;
        }

        /// Every operation of the spec, in path order.
        pub const OPERATIONS: &[OperationInfo] = &[
            #( #rows )*
        ];

        #( #markers )*
    })
}
