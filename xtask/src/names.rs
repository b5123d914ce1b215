//! Names and docs: spec names turned into Rust identifiers, and descriptions into doc
//! attributes.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::GenError;

/// `commit_code` / `purchase-status` / `refundStatus` → `CommitCode` / `PurchaseStatus` / ...
pub fn upper_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `kassaPurchaseId` / `kassa-purchase-id` → `kassa_purchase_id`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("f_{out}")
    } else {
        out
    }
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

pub(crate) fn field_ident(wire: &str) -> Ident {
    let mut name = snake(wire);
    if KEYWORDS.contains(&name.as_str()) {
        name.push('_');
    }
    Ident::new(&name, Span::call_site())
}

pub(crate) fn type_ident(name: &str) -> Ident {
    Ident::new(&upper_camel(name), Span::call_site())
}

/// `#[doc = ...]` attributes, one per line of `text`.
pub(crate) fn docs(text: &str) -> TokenStream {
    let lines: Vec<String> = text
        .trim()
        .lines()
        .map(|l| {
            let l = l.trim_end();
            if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            }
        })
        .collect();
    quote! { #( #[doc = #lines] )* }
}

pub(crate) fn inner_docs(text: &str) -> TokenStream {
    let lines: Vec<String> = text.lines().map(|l| format!(" {l}")).collect();
    quote! { #( #![doc = #lines] )* }
}

pub(crate) fn ref_name(reference: &str) -> Result<&str, GenError> {
    reference
        .strip_prefix("#/components/schemas/")
        .ok_or_else(|| GenError(format!("unsupported reference {reference:?}")))
}

pub(crate) fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let mut s = line.to_owned();
    if let Some(c) = s.get(0..1) {
        let lower = c.to_ascii_lowercase();
        s.replace_range(0..1, &lower);
    }
    s
}
