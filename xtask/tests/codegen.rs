//! The generator against a small fixture spec and its committed expected output.
//!
//! Set `XTASK_BLESS=1` to rewrite the expected files after an intended change.

use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixture() -> String {
    std::fs::read_to_string(dir().join("fixtures/shop.yaml")).expect("fixture")
}

fn file<'a>(files: &'a [xtask::GeneratedFile], name: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not generated"))
        .text
}

#[test]
fn fixture_matches_committed_expected_output() {
    let files = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    assert_eq!(
        files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["models.rs", "operations.rs"]
    );
    for f in &files {
        assert!(
            f.text.starts_with(xtask::HEADER),
            "{} lacks the header",
            f.name
        );
        let path = dir().join("expected").join(&f.name);
        if std::env::var_os("XTASK_BLESS").is_some() {
            std::fs::write(&path, &f.text).expect("bless");
        }
        let expected = std::fs::read_to_string(&path).expect("expected file");
        assert_eq!(
            f.text, expected,
            "{} drifted from its expected output",
            f.name
        );
    }
}

#[test]
fn output_is_deterministic() {
    let a = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    let b = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    assert_eq!(a, b);
}

#[test]
fn models_keep_wire_names_required_optional_and_open_enums() {
    let files = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    let models = file(&files, "models.rs");
    assert!(models.contains("#[serde(rename = \"orderId\")]\n    pub order_id: String,"));
    assert!(models.contains("#[serde(rename = \"type\", default, skip_serializing_if = \"Option::is_none\")]\n    pub type_: Option<String>,"));
    assert!(models.contains("#[serde(with = \"payments_core::money::minor_units\")]\n    pub total: payments_core::Amount,"));
    assert!(models.contains("pub tip: Option<payments_core::Amount>,"));
    assert!(models.contains("pub pin: Option<payments_core::Secret>,"));
    assert!(models.contains("pub lines: Vec<Line>,"));
    assert!(models.contains("pub qty: i32,"));
    assert!(models.contains("/// The shop's order id."));
    // Open enums are core's one definition, with the known values and their wire text.
    assert!(models.contains("payments_core::open_enum! {\n    #![ignore_ascii_case]\n"));
    assert!(models.contains("        RefundedPartially => \"refunded_partially\",\n"));
    assert!(models.contains("pub struct CreateOrderBuilder"));
    // Only request bodies get builders.
    assert!(!models.contains("pub struct OrderBuilder"));
    let ops = file(&files, "operations.rs");
    assert!(ops.contains("path: \"/v1/orders\""));
    assert!(ops.contains("type Request = crate::model::CreateOrder;"));
    assert!(ops.contains("type Response = crate::model::Health;"));
}

#[test]
fn operations_carry_core_operations_and_http_methods() {
    let files = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    let ops = file(&files, "operations.rs");
    assert!(ops.contains("pub const PROVIDER: &str = \"shop\";"));
    assert!(ops.contains("pub method: http::Method,"));
    assert!(ops.contains("method: http::Method::POST,"));
    assert!(ops.contains("method: http::Method::GET,"));
    assert!(ops.contains(
        "operation: payments_core::Operation::not_idempotent(PROVIDER, \"create_order\"),"
    ));
    assert!(ops.contains("operation: payments_core::Operation::idempotent(PROVIDER, \"health\"),"));
    assert!(!ops.contains("idempotent: true") && !ops.contains("idempotent: false"));

    // The provider's name is required.
    let mut spec = xtask::parse_spec_text(&fixture()).expect("parse");
    spec["info"].as_object_mut().unwrap().remove("x-provider");
    let e = xtask::generate_from_value(spec, "x").unwrap_err();
    assert!(e.to_string().contains("x-provider"), "{e}");
}

#[test]
fn optional_security_does_not_need_the_credential_first() {
    let base = xtask::parse_spec_text(&fixture()).expect("parse");
    let api =
        |spec: serde_json::Value| -> openapiv3::OpenAPI { serde_json::from_value(spec).unwrap() };
    let health = |spec: serde_json::Value| {
        xtask::collect_operations(&api(spec))
            .unwrap()
            .into_iter()
            .find(|o| o.id == "health")
            .unwrap()
    };
    assert!(!health(base.clone()).authenticated, "security: [] is none");
    let mut optional = base.clone();
    optional["paths"]["/v1/health"]["get"]["security"] = serde_json::json!([{}, {"session": []}]);
    assert!(
        !health(optional).authenticated,
        "an empty alternative makes it optional"
    );
    let mut required = base.clone();
    required["paths"]["/v1/health"]["get"]["security"] = serde_json::json!([{"session": []}]);
    assert!(health(required).authenticated);
    let mut inherited = base;
    inherited["paths"]["/v1/health"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("security");
    assert!(
        health(inherited).authenticated,
        "the document's security applies"
    );
}

#[test]
fn structs_get_constructors_defaults_and_additional_properties() {
    let files = xtask::generate(&fixture(), "fixtures/shop.yaml").expect("generate");
    let models = file(&files, "models.rs");
    // Every struct has a constructor of its required fields, so callers need no struct literal.
    assert!(models.contains(
        "pub fn new(order_id: impl Into<String>, total: impl Into<payments_core::Amount>) -> Self {"
    ));
    assert!(models.contains("pub fn new(qty: impl Into<i32>) -> Self {"));
    assert!(models.contains("            paid: None,\n"));
    // Only a struct without required fields is Default.
    assert!(models.contains("#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]\n#[non_exhaustive]\npub struct Health {"));
    assert_eq!(models.matches("Default, PartialEq, Serialize").count(), 1);
    // `additionalProperties: true` keeps the unnamed properties, and Debug shows their names only.
    assert!(models.contains("    #[serde(flatten)]\n    pub additional_properties: serde_json::Map<String, serde_json::Value>,"));
    assert!(models.contains("&self.additional_properties.keys().collect::<Vec<_>>(),"));
    // Known enum values are matched without regard to case (core's macro in that mode), and
    // no enum is expanded by hand.
    assert!(
        models.contains("#![ignore_ascii_case]\n    /// Where the order is."),
        "{models}"
    );
    assert!(!models.contains("impl Serialize for") && !models.contains("Unknown(String)"));
    // A required field left unset is core's `Invalid`, naming it.
    assert!(models.contains("payments_core::Invalid::new(\"orderId\", \"is required\")"));
}

#[test]
fn a_property_added_to_any_schema_shows_up() {
    let base = xtask::parse_spec_text(&fixture()).expect("parse");
    let schemas = base["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .iter()
        .filter(|(_, s)| s.get("type").and_then(|t| t.as_str()) == Some("object"))
        .map(|(name, _)| name.clone())
        .collect::<Vec<_>>();
    assert_eq!(schemas.len(), 4);
    for name in schemas {
        let mut spec = base.clone();
        let schema = &mut spec["components"]["schemas"][name.as_str()];
        schema["properties"]["addedLater"] = serde_json::json!({
            "type": "string",
            "description": "A property added after the fixture was written."
        });
        let optional = xtask::generate_from_value(spec.clone(), "x").expect("generate");
        let models = file(&optional, "models.rs");
        assert!(
            models.contains("/// A property added after the fixture was written.\n    #[serde(\n        rename = \"addedLater\",\n        default,\n        skip_serializing_if = \"Option::is_none\"\n    )]\n    pub added_later: Option<String>,"),
            "{name}: {models}"
        );
        spec["components"]["schemas"][name.as_str()]["required"] =
            serde_json::json!(["addedLater"]);
        let required = xtask::generate_from_value(spec, "x").expect("generate");
        assert!(
            file(&required, "models.rs")
                .contains("#[serde(rename = \"addedLater\")]\n    pub added_later: String,"),
            "{name}"
        );
    }
}

#[test]
fn bad_specs_get_clear_errors() {
    let e = xtask::generate("openapi: 3.0.3\ninfo: [", "x").unwrap_err();
    assert!(e.to_string().contains("YAML"), "{e}");
    let e = xtask::generate("{\"openapi\": \"3.0.3\"}", "x").unwrap_err();
    assert!(e.to_string().contains("not an OpenAPI 3.0 document"), "{e}");
    let mut spec = xtask::parse_spec_text(&fixture()).expect("parse");
    spec["components"]["schemas"]["Health"]["properties"]["mood"] =
        serde_json::json!({"type": "string", "enum": ["a", "b"]});
    let e = xtask::generate_from_value(spec, "x").unwrap_err();
    assert!(e.to_string().contains("inline string enums"), "{e}");
}

#[test]
fn names() {
    assert_eq!(xtask::upper_camel("commit_code"), "CommitCode");
    assert_eq!(xtask::upper_camel("vat10"), "Vat10");
    assert_eq!(xtask::upper_camel("10"), "V10");
    assert_eq!(xtask::snake("kassaPurchaseId"), "kassa_purchase_id");
    assert_eq!(xtask::snake("id-loyalty"), "id_loyalty");
}
