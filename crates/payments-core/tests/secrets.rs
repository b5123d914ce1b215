//! Secrets never show: not in the `Debug` of a request or an answer, and not in the excerpts
//! that errors quote.

use http::header::{HeaderName, HeaderValue};
use payments_core::{Request, Response};

const SECRETS: [&str; 7] = [
    "c00kie-value",
    "set-c00kie-value",
    "auth-1dentifier",
    "Bearer t0ken",
    "Basic pr0xy",
    "k3y-value",
    "marked-s3nsitive",
];

fn secret_headers() -> Vec<(HeaderName, HeaderValue)> {
    let mut marked = HeaderValue::from_static("marked-s3nsitive");
    marked.set_sensitive(true);
    vec![
        (http::header::COOKIE, HeaderValue::from_static(SECRETS[0])),
        (
            http::header::SET_COOKIE,
            HeaderValue::from_static(SECRETS[1]),
        ),
        (
            HeaderName::from_static("auth-identifier"),
            HeaderValue::from_static(SECRETS[2]),
        ),
        (
            http::header::AUTHORIZATION,
            HeaderValue::from_static(SECRETS[3]),
        ),
        (
            http::header::PROXY_AUTHORIZATION,
            HeaderValue::from_static(SECRETS[4]),
        ),
        (
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(SECRETS[5]),
        ),
        (HeaderName::from_static("x-trace"), marked),
    ]
}

#[test]
fn request_debug_hides_the_body_and_the_credentials() {
    let mut request = Request::new(
        http::Method::POST,
        "https://user:pa55word@kassa.example/v1/refund?order=7&token=qu3ry-t0ken"
            .parse()
            .unwrap(),
    )
    .with_body(r#"{"password":"b0dy-secret"}"#)
    .with_header(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in secret_headers() {
        request.headers.append(name, value);
    }
    for shown in [format!("{request:?}"), format!("{request:#?}")] {
        for secret in SECRETS
            .iter()
            .chain(&["b0dy-secret", "pa55word", "qu3ry-t0ken"])
        {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("[26 bytes]"), "{shown}");
        assert!(shown.contains("application/json"), "{shown}");
        assert!(shown.contains("order=7"), "{shown}");
        assert!(shown.contains("kassa.example/v1/refund"), "{shown}");
        assert!(shown.contains("\"cookie\": [REDACTED]"), "{shown}");
    }
}

#[test]
fn response_debug_hides_the_body_and_the_credentials() {
    let mut headers = http::HeaderMap::new();
    for (name, value) in secret_headers() {
        headers.append(name, value);
    }
    headers.append(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    let response = Response::new(
        http::StatusCode::OK,
        headers,
        r#"{"session":"b0dy-secret"}"#,
    );
    let shown = format!("{response:?}");
    for secret in SECRETS.iter().chain(&["b0dy-secret"]) {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("[25 bytes]"), "{shown}");
    assert!(shown.contains("\"retry-after\": \"5\""), "{shown}");
    assert!(shown.contains("200"), "{shown}");
}

#[test]
fn a_json_decode_error_never_quotes_a_value_through_its_chain() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        token: String,
        status: String,
    }
    // A secret field of an unexpected type: the excerpt redacts it by name, but serde_json's
    // message would quote it (`invalid type: integer `987654321`, expected a string`).
    let body = r#"{"status":"ok","token":987654321}"#;
    let response = Response::new(http::StatusCode::OK, Default::default(), body);
    let err = response.json::<Answer>("an answer").unwrap_err();

    // Everything a log line could print: the error, its Debug, and every source in the chain.
    let mut shown = format!("{err} {err:?} {err:#?}");
    let mut source = std::error::Error::source(&err);
    let mut depth = 0;
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
        depth += 1;
    }
    assert!(depth >= 1, "the cause is kept, as a summary");
    assert!(!shown.contains("987654321"), "{shown}");
    assert!(
        !shown.contains("invalid type: integer"),
        "serde_json's message: {shown}"
    );

    // What the summary says instead: where, and which field.
    let summary = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<payments_core::JsonError>())
        .expect("a JsonError source");
    assert_eq!(summary.path(), Some("token"));
    assert_eq!(
        summary.to_string(),
        "invalid type at line 1 column 32, at `token`"
    );
}
