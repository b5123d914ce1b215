//! Every example in the spec decodes into the generated type the operation table names, and
//! encodes back to the same JSON: the spec, the generated code and the table agree.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use smartpay::OPERATIONS;
use smartpay::*;

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/openapi.yaml"))
        .expect("spec");
    serde_norway::from_str(&text).expect("yaml")
}

fn round_trip<T: DeserializeOwned + Serialize>(example: &Value) {
    let typed: T = serde_json::from_value(example.clone())
        .unwrap_or_else(|e| panic!("{example} does not decode: {e}"));
    let back = serde_json::to_value(&typed).expect("encode");
    assert_eq!(&back, example);
}

fn check(type_name: &str, example: &Value) {
    match type_name {
        "AuthRequest" => round_trip::<AuthRequest>(example),
        "AuthResponse" => round_trip::<AuthResponse>(example),
        "CommitCodeRequest" => round_trip::<CommitCodeRequest>(example),
        "CommitCodeResponse" => round_trip::<CommitCodeResponse>(example),
        "ReleaseRequest" => round_trip::<ReleaseRequest>(example),
        "ReleaseResponse" => round_trip::<ReleaseResponse>(example),
        "PurchaseStatusRequest" => round_trip::<PurchaseStatusRequest>(example),
        "PurchaseStatusResponse" => round_trip::<PurchaseStatusResponse>(example),
        "PurchaseKassaStatusRequest" => round_trip::<PurchaseKassaStatusRequest>(example),
        "PurchaseKassaStatusResponse" => round_trip::<PurchaseKassaStatusResponse>(example),
        "FiscalV1Request" => round_trip::<FiscalV1Request>(example),
        "FiscalV2Request" => round_trip::<FiscalV2Request>(example),
        "FiscalResponse" => round_trip::<FiscalResponse>(example),
        "RefundRequest" => round_trip::<RefundRequest>(example),
        "RefundResponse" => round_trip::<RefundResponse>(example),
        "RefundStatusRequest" => round_trip::<RefundStatusRequest>(example),
        "RefundStatusResponse" => round_trip::<RefundStatusResponse>(example),
        "RefundKassaStatusRequest" => round_trip::<RefundKassaStatusRequest>(example),
        "RefundKassaStatusResponse" => round_trip::<RefundKassaStatusResponse>(example),
        "PingResponse" => round_trip::<PingResponse>(example),
        "ErrorAnswersResponse" => round_trip::<ErrorAnswersResponse>(example),
        "ErrorResponse" => round_trip::<ErrorResponse>(example),
        "QrPayload" => round_trip::<QrPayload>(example),
        other => panic!("no type {other} in the check table: add it"),
    }
}

#[test]
fn every_operation_has_checked_examples() {
    let spec = spec();
    assert_eq!(OPERATIONS.len(), 12);
    let mut checked = 0;
    for op in OPERATIONS {
        let method = op.method.as_str().to_ascii_lowercase();
        let item = &spec["paths"][op.path][method.as_str()];
        assert_eq!(item["operationId"], op.id, "{}", op.path);
        if let Some(request) = op.request {
            let example = &item["requestBody"]["content"]["application/json"]["example"];
            assert!(!example.is_null(), "{} lacks a request example", op.id);
            check(request, example);
            checked += 1;
        }
        let example = &item["responses"]["200"]["content"]["application/json"]["example"];
        assert!(!example.is_null(), "{} lacks a response example", op.id);
        check(op.response, example);
        checked += 1;
    }
    assert_eq!(checked, 22);
    let error = &spec["components"]["responses"]["Error"]["content"]["application/json"]["example"];
    check("ErrorResponse", error);
    check(
        "QrPayload",
        &spec["components"]["schemas"]["QrPayload"]["example"],
    );
}

#[test]
fn the_table_matches_the_guide() {
    let paths: Vec<_> = OPERATIONS.iter().map(|o| o.path).collect();
    for path in [
        "/v1/auth",
        "/v1/purchase/code/commit",
        "/v1/purchase/release",
        "/v1/purchase/status",
        "/v1/purchase/kassa/status",
        "/v1/purchase/fiscal",
        "/v2/purchase/fiscal",
        "/v1/purchase/refund",
        "/v1/purchase/refund/status",
        "/v1/purchase/refund/kassa/status",
        "/v1/ping",
        "/v1/error_answers",
    ] {
        assert!(paths.contains(&path), "{path} missing");
    }
    let op = |id: &str| OPERATIONS.iter().find(|o| o.id == id).unwrap();
    let release = op("release");
    assert!(!release.operation.is_idempotent() && release.authenticated);
    assert_eq!(release.method, http::Method::POST);
    assert_eq!(release.operation.provider, "smartpay");
    assert_eq!(release.operation.name, "release");
    // Not idempotent: anything that acts twice when sent twice, a fiscal receipt included (it
    // would show twice in the customer's history).
    for id in ["commit_code", "release", "refund", "fiscal_v1", "fiscal_v2"] {
        assert!(!op(id).operation.is_idempotent(), "{id}");
    }
    for id in [
        "auth",
        "purchase_status",
        "purchase_kassa_status",
        "refund_status",
        "refund_kassa_status",
        "ping",
        "error_answers",
    ] {
        assert!(op(id).operation.is_idempotent(), "{id}");
    }
    // Ping and the error list do not log in first (the cookie goes with them when there is one).
    for id in ["ping", "error_answers"] {
        assert!(
            !op(id).authenticated && op(id).method == http::Method::GET,
            "{id}"
        );
    }
}

#[test]
fn secrets_stay_out_of_debug() {
    let auth: AuthRequest =
        serde_json::from_value(serde_json::json!({"login": "k", "password": "hunter2"})).unwrap();
    assert!(!format!("{auth:?}").contains("hunter2"));
    assert_eq!(
        serde_json::to_value(&auth).unwrap()["password"],
        "hunter2",
        "the wire still carries it"
    );
}
