//! `models.rs`: one serde type per component schema.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::names::{docs, field_ident, first_line, inner_docs, ref_name, type_ident, upper_camel};
use crate::types::{field_type, is_sensitive, Helpers};
use crate::{err, GenError};

/// The schemas reachable from `roots` through properties and array items: the types a caller
/// builds, which get builders.
pub(crate) fn reachable(api: &OpenAPI, roots: impl Iterator<Item = String>) -> BTreeSet<String> {
    fn refs_of(schema: &ReferenceOr<Box<Schema>>, out: &mut Vec<String>) {
        match schema {
            ReferenceOr::Reference { reference } => {
                if let Ok(name) = ref_name(reference) {
                    out.push(name.to_owned());
                }
            }
            ReferenceOr::Item(s) => match &s.schema_kind {
                SchemaKind::Type(Type::Array(a)) => {
                    if let Some(items) = &a.items {
                        refs_of(items, out);
                    }
                }
                SchemaKind::Type(Type::Object(o)) => {
                    for p in o.properties.values() {
                        refs_of(p, out);
                    }
                }
                _ => {}
            },
        }
    }
    let schemas = api.components.as_ref().map(|c| &c.schemas);
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(ReferenceOr::Item(schema)) = schemas.and_then(|s| s.get(&name)) {
            refs_of(&ReferenceOr::Item(Box::new(schema.clone())), &mut todo);
        }
    }
    seen
}

pub(crate) fn models_file(
    api: &OpenAPI,
    request_types: &BTreeSet<String>,
    source: &str,
) -> Result<TokenStream, GenError> {
    let mut items = Vec::new();
    let mut helpers = Helpers::default();
    let schemas = api
        .components
        .as_ref()
        .map(|c| c.schemas.clone())
        .unwrap_or_default();
    for (name, schema) in &schemas {
        let ReferenceOr::Item(schema) = schema else {
            let ident = type_ident(name);
            let ReferenceOr::Reference { reference } = schema else {
                continue;
            };
            let target = type_ident(ref_name(reference)?);
            let doc = format!(" Another name for [`{target}`].");
            items.push(quote! { #[doc = #doc] pub type #ident = #target; });
            continue;
        };
        let description = schema
            .schema_data
            .description
            .clone()
            .unwrap_or_else(|| format!("The `{name}` schema."));
        match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => {
                let values: Vec<String> = s.enumeration.iter().flatten().cloned().collect();
                items.push(open_enum(name, &description, &values)?);
            }
            SchemaKind::Type(Type::Object(o)) => {
                items.push(object(
                    name,
                    &description,
                    o,
                    request_types.contains(name),
                    &mut helpers,
                )?);
            }
            _ => {
                let ident = type_ident(name);
                let ty = field_type(&ReferenceOr::Item(Box::new(schema.clone())))?;
                if ty.with.is_some() {
                    return err(format!(
                        "schema {name}: top-level money or secret aliases are not supported"
                    ));
                }
                let ty = ty.ty;
                let doc = docs(&description);
                items.push(quote! { #doc pub type #ident = #ty; });
            }
        }
    }
    if helpers.opt_minor_units {
        items.push(quote! {
            mod opt_minor_units {
                use payments_core::Amount;
                use serde::{Deserialize, Deserializer, Serializer};

                pub fn serialize<S: Serializer>(v: &Option<Amount>, s: S) -> Result<S::Ok, S::Error> {
                    match v {
                        Some(a) => payments_core::money::minor_units::serialize(a, s),
                        None => s.serialize_none(),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
                    #[derive(Deserialize)]
                    struct W(#[serde(with = "payments_core::money::minor_units")] Amount);
                    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
                }
            }
        });
    }
    if helpers.secret {
        items.push(quote! {
            mod secret_string {
                use payments_core::Secret;
                use serde::{Deserialize, Deserializer, Serializer};

                pub fn serialize<S: Serializer>(v: &Secret, s: S) -> Result<S::Ok, S::Error> {
                    let text = v
                        .expose_str()
                        .ok_or_else(|| serde::ser::Error::custom("a secret field is not UTF-8"))?;
                    s.serialize_str(text)
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
                    Ok(Secret::from(String::deserialize(d)?))
                }
            }
        });
    }
    if helpers.opt_secret {
        items.push(quote! {
            mod opt_secret_string {
                use payments_core::Secret;
                use serde::{Deserialize, Deserializer, Serializer};

                pub fn serialize<S: Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
                    match v.as_ref().map(|v| v.expose_str()) {
                        Some(Some(text)) => s.serialize_str(text),
                        Some(None) => Err(serde::ser::Error::custom("a secret field is not UTF-8")),
                        None => s.serialize_none(),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
                    Ok(Option::<String>::deserialize(d)?.map(Secret::from))
                }
            }
        });
    }
    let title = format!(
        "The wire models of `{source}` ({} {}).",
        api.info.title, api.info.version
    );
    let module_docs = inner_docs(&format!(
        "{title}\n\nObjects keep the exact wire names; optional properties are `Option`s that are\nleft out when `None`; enums accept values this version does not know."
    ));
    Ok(quote! {
        #module_docs
        use serde::{Deserialize, Serialize};
        #( #items )*
    })
}

fn open_enum(name: &str, description: &str, values: &[String]) -> Result<TokenStream, GenError> {
    let ident = type_ident(name);
    let mut seen = BTreeSet::new();
    let mut variants = Vec::new();
    for v in values {
        let mut vname = upper_camel(v);
        if vname == "Unknown" {
            vname.push('_');
        }
        if !seen.insert(vname.clone()) {
            return err(format!(
                "enum {name}: values map to the same variant {vname}"
            ));
        }
        variants.push((Ident::new(&vname, Span::call_site()), v.clone()));
    }
    let doc = docs(description);
    let defs = variants.iter().map(|(id, wire)| {
        let d = format!(" `{wire}`.");
        quote! { #[doc = #d] #[wire = #wire] #id, }
    });
    // Core's one open-enum definition (`payments_core::open_enum!`), with known values matched
    // without regard to case. The enum is written as an item with marker attributes so that it
    // is pretty-printed, and `format_file` turns it into the macro call.
    Ok(quote! {
        #[open_enum(ignore_ascii_case)]
        #doc
        pub enum #ident {
            #( #defs )*
        }
    })
}

fn object(
    name: &str,
    description: &str,
    o: &openapiv3::ObjectType,
    with_builder: bool,
    helpers: &mut Helpers,
) -> Result<TokenStream, GenError> {
    let ident = type_ident(name);
    let doc = docs(description);
    let mut fields = Vec::new();
    let mut setters = Vec::new();
    let mut builder_fields = Vec::new();
    let mut build_fields = Vec::new();
    // For a struct with a sensitive field: each field's line in the hand-written `Debug`s.
    let mut debug_fields = Vec::new();
    let mut builder_debug_fields = Vec::new();
    let mut any_sensitive = false;
    let mut seen = BTreeSet::new();
    // The constructor's arguments and body: the required fields are given, the others `None`.
    let mut ctor_args = Vec::new();
    let mut ctor_fields = Vec::new();
    for (wire, prop) in &o.properties {
        let fident = field_ident(wire);
        if !seen.insert(fident.to_string()) {
            return err(format!(
                "schema {name}: two properties map to the field {fident}"
            ));
        }
        let required = o.required.iter().any(|r| r == wire);
        let prop_doc = match prop {
            ReferenceOr::Item(s) => s.schema_data.description.clone(),
            ReferenceOr::Reference { .. } => None,
        }
        .unwrap_or_else(|| format!("The `{wire}` property."));
        let fdoc = docs(&prop_doc);
        let ft = field_type(prop)?;
        let ty = ft.ty.clone();
        let mut serde_args = Vec::new();
        if fident != wire.as_str() {
            serde_args.push(quote! { rename = #wire });
        }
        let field_ty = if required {
            if let Some(w) = ft.with {
                if w == "secret_string" {
                    helpers.secret = true;
                }
                serde_args.push(quote! { with = #w });
            }
            quote! { #ty }
        } else {
            serde_args.push(quote! { default, skip_serializing_if = "Option::is_none" });
            if let Some(w) = ft.opt_with {
                match w {
                    "opt_minor_units" => helpers.opt_minor_units = true,
                    "opt_secret_string" => helpers.opt_secret = true,
                    _ => {}
                }
                serde_args.push(quote! { with = #w });
            }
            quote! { Option<#ty> }
        };
        let serde_attr = if serde_args.is_empty() {
            quote! {}
        } else {
            quote! { #[serde( #( #serde_args ),* )] }
        };
        fields.push(quote! {
            #fdoc
            #serde_attr
            pub #fident: #field_ty,
        });
        let setter_doc = format!(" Sets `{wire}`: {}", first_line(&prop_doc));
        setters.push(quote! {
            #[doc = #setter_doc]
            pub fn #fident(mut self, value: impl Into<#ty>) -> Self {
                self.#fident = Some(value.into());
                self
            }
        });
        let fname = fident.to_string();
        if is_sensitive(prop) {
            any_sensitive = true;
            debug_fields.push(if required {
                quote! { .field(#fname, &payments_core::secret::REDACTED) }
            } else {
                quote! { .field(#fname, &self.#fident.as_ref().map(|_| payments_core::secret::REDACTED)) }
            });
            builder_debug_fields.push(
                quote! { .field(#fname, &self.#fident.as_ref().map(|_| payments_core::secret::REDACTED)) },
            );
        } else {
            debug_fields.push(quote! { .field(#fname, &self.#fident) });
            builder_debug_fields.push(quote! { .field(#fname, &self.#fident) });
        }
        builder_fields.push(quote! { #fident: Option<#ty>, });
        if required {
            ctor_args.push(quote! { #fident: impl Into<#ty> });
            ctor_fields.push(quote! { #fident: #fident.into(), });
        } else {
            ctor_fields.push(quote! { #fident: None, });
        }
        build_fields.push(if required {
            quote! { #fident: self.#fident.ok_or_else(|| payments_core::Invalid::new(#wire, "is required"))?, }
        } else {
            quote! { #fident: self.#fident, }
        });
    }
    // `additionalProperties`: the properties the spec does not name are kept as they came and
    // sent back as they are; `Debug` shows only their names (their values are unknown, so they
    // are treated as secrets).
    if allows_additional_properties(o) {
        let fident = format_ident!("additional_properties");
        if !seen.insert(fident.to_string()) {
            return err(format!(
                "schema {name}: a property maps to the field additional_properties, which holds \
                 the additional properties"
            ));
        }
        let map = quote! { serde_json::Map<String, serde_json::Value> };
        fields.push(quote! {
            /// The properties the spec does not name, kept as they came (sent back as they are).
            #[serde(flatten)]
            pub additional_properties: #map,
        });
        setters.push(quote! {
            /// Sets the properties the spec does not name.
            pub fn additional_properties(mut self, value: impl Into<#map>) -> Self {
                self.additional_properties = Some(value.into());
                self
            }
        });
        any_sensitive = true;
        debug_fields.push(quote! {
            .field("additional_properties", &self.additional_properties.keys().collect::<Vec<_>>())
        });
        builder_debug_fields.push(quote! {
            .field(
                "additional_properties",
                &self.additional_properties.as_ref().map(|m| m.keys().collect::<Vec<_>>()),
            )
        });
        builder_fields.push(quote! { additional_properties: Option<#map>, });
        ctor_fields.push(quote! { additional_properties: serde_json::Map::new(), });
        build_fields.push(quote! {
            additional_properties: self.additional_properties.unwrap_or_default(),
        });
    }
    // A struct without required fields can be made empty.
    let default = if ctor_args.is_empty() {
        quote! { Default, }
    } else {
        quote! {}
    };
    // A struct with a sensitive field gets a `Debug` that redacts it (and so does its builder).
    let (derive, debug) = if any_sensitive {
        (
            quote! { #[derive(Clone, #default PartialEq, Serialize, Deserialize)] },
            redacting_debug(&ident, &debug_fields),
        )
    } else {
        (
            quote! { #[derive(Clone, Debug, #default PartialEq, Serialize, Deserialize)] },
            quote! {},
        )
    };
    // Hand-written code builds the struct through this constructor (or the builder), never with
    // a struct literal: an optional property added to the spec then breaks no caller.
    let new_doc = if ctor_args.is_empty() {
        format!(" A new, empty [`{ident}`] (every field is optional).")
    } else {
        format!(" A new [`{ident}`] from its required fields; the optional ones are `None`.")
    };
    let many_args = (ctor_args.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let mut out = quote! {
        #doc
        #derive
        #[non_exhaustive]
        pub struct #ident {
            #( #fields )*
        }

        #debug

        impl #ident {
            #[doc = #new_doc]
            #many_args
            pub fn new( #( #ctor_args ),* ) -> Self {
                #ident {
                    #( #ctor_fields )*
                }
            }
        }
    };
    if with_builder {
        let builder = format_ident!("{}Builder", ident);
        let (builder_derive, builder_debug) = if any_sensitive {
            (
                quote! { #[derive(Clone, Default)] },
                redacting_debug(&builder, &builder_debug_fields),
            )
        } else {
            (quote! { #[derive(Clone, Debug, Default)] }, quote! {})
        };
        let bdoc =
            format!(" Builds a [`{ident}`]; `build` fails when a required field is missing.");
        let ctor_doc = format!(" A builder for [`{ident}`].");
        out.extend(quote! {
            impl #ident {
                #[doc = #ctor_doc]
                pub fn builder() -> #builder {
                    #builder::default()
                }
            }

            #[doc = #bdoc]
            #builder_derive
            #[must_use]
            pub struct #builder {
                #( #builder_fields )*
            }

            #builder_debug

            impl #builder {
                #( #setters )*

                /// Builds the value, or names the first required field that is not set.
                pub fn build(self) -> Result<#ident, payments_core::Invalid> {
                    Ok(#ident {
                        #( #build_fields )*
                    })
                }
            }
        });
    }
    Ok(out)
}

/// Whether an object keeps properties the spec does not name (`additionalProperties: true` or a
/// schema).
fn allows_additional_properties(o: &openapiv3::ObjectType) -> bool {
    matches!(
        o.additional_properties,
        Some(openapiv3::AdditionalProperties::Any(true))
            | Some(openapiv3::AdditionalProperties::Schema(_))
    )
}

/// A `Debug` impl for `ident` from its fields' lines (`.field(name, value)`).
fn redacting_debug(ident: &Ident, fields: &[TokenStream]) -> TokenStream {
    let name = ident.to_string();
    quote! {
        impl std::fmt::Debug for #ident {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#name)
                    #( #fields )*
                    .finish()
            }
        }
    }
}
