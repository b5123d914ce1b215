//! Types: how a schema is represented in Rust (money, secrets, exact numbers).

use openapiv3::{
    IntegerFormat, ReferenceOr, Schema, SchemaKind, StringFormat, Type, VariantOrUnknownOrEmpty,
};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{ref_name, type_ident};
use crate::{err, GenError};

#[derive(Default)]
pub(crate) struct Helpers {
    pub(crate) opt_minor_units: bool,
    pub(crate) secret: bool,
    pub(crate) opt_secret: bool,
}

/// How a property is represented in Rust.
pub(crate) struct FieldType {
    pub(crate) ty: TokenStream,
    /// A serde `with` module for the required form.
    pub(crate) with: Option<&'static str>,
    /// A serde `with` module for the optional form.
    pub(crate) opt_with: Option<&'static str>,
}

impl FieldType {
    pub(crate) fn plain(ty: TokenStream) -> Self {
        FieldType {
            ty,
            with: None,
            opt_with: None,
        }
    }
}

/// Whether a property is marked `x-sensitive: true`: a credential kept as a plain type (a
/// one-time password, a signature) that `Debug` must not show.
pub(crate) fn is_sensitive(prop: &ReferenceOr<Box<Schema>>) -> bool {
    match prop {
        ReferenceOr::Item(s) => s
            .schema_data
            .extensions
            .get("x-sensitive")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        ReferenceOr::Reference { .. } => false,
    }
}

fn is_money(schema: &Schema) -> bool {
    schema
        .schema_data
        .extensions
        .get("x-money")
        .and_then(|v| v.as_str())
        == Some("minor-units")
}

pub(crate) fn field_type(schema: &ReferenceOr<Box<Schema>>) -> Result<FieldType, GenError> {
    let schema = match schema {
        ReferenceOr::Reference { reference } => {
            let name = type_ident(ref_name(reference)?);
            return Ok(FieldType::plain(quote! { #name }));
        }
        ReferenceOr::Item(s) => s,
    };
    Ok(match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            if !s.enumeration.is_empty() {
                return err("inline string enums are not supported: move the enum to components/schemas and reference it");
            }
            match &s.format {
                VariantOrUnknownOrEmpty::Item(StringFormat::Password) => FieldType {
                    ty: quote! { payments_core::Secret },
                    with: Some("secret_string"),
                    opt_with: Some("opt_secret_string"),
                },
                _ => FieldType::plain(quote! { String }),
            }
        }
        SchemaKind::Type(Type::Integer(i)) => {
            if is_money(schema) {
                FieldType {
                    ty: quote! { payments_core::Amount },
                    with: Some("payments_core::money::minor_units"),
                    opt_with: Some("opt_minor_units"),
                }
            } else if matches!(
                i.format,
                VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32)
            ) {
                FieldType::plain(quote! { i32 })
            } else {
                FieldType::plain(quote! { i64 })
            }
        }
        // Never a float on the way to the wire: keep the number exactly as it came.
        SchemaKind::Type(Type::Number(_)) => FieldType::plain(quote! { serde_json::Number }),
        SchemaKind::Type(Type::Boolean(_)) => FieldType::plain(quote! { bool }),
        SchemaKind::Type(Type::Array(a)) => {
            let Some(items) = &a.items else {
                return Ok(FieldType::plain(quote! { Vec<serde_json::Value> }));
            };
            let inner = field_type(items)?;
            if inner.with.is_some() {
                return err(
                    "arrays of money or secrets are not supported: wrap the item in a named schema",
                );
            }
            let inner = inner.ty;
            FieldType::plain(quote! { Vec<#inner> })
        }
        _ => FieldType::plain(quote! { serde_json::Value }),
    })
}
