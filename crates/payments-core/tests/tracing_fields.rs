//! The `payments.call` span carries OpenTelemetry's HTTP semantic-convention fields, and never a
//! query string, a body or a header value.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use payments_core::{BoxFuture, Error, HttpClient, Operation, Request, Response, Transport};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Every field of every `payments.call` span, by name, as text.
#[derive(Clone, Default)]
struct Fields(Arc<Mutex<BTreeMap<String, String>>>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .lock()
            .unwrap()
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .lock()
            .unwrap()
            .insert(field.name().to_owned(), value.to_owned());
    }
}

/// A layer that keeps the fields of the `payments.call` span, and the span ids it saw.
#[derive(Clone, Default)]
struct CallSpans {
    fields: Fields,
    ids: Arc<Mutex<Vec<Id>>>,
}

impl<S: tracing::Subscriber> Layer<S> for CallSpans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "payments.call" {
            self.ids.lock().unwrap().push(id.clone());
            attrs.record(&mut self.fields.clone());
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if self.ids.lock().unwrap().contains(id) {
            values.record(&mut self.fields.clone());
        }
    }
}

/// Answers 201 with a body that holds a secret.
struct Answer;

impl Transport for Answer {
    fn send(&self, _: Request) -> BoxFuture<Result<Response, Error>> {
        Box::pin(async {
            Ok(Response {
                status: StatusCode::CREATED,
                headers: HeaderMap::new(),
                body: Bytes::from_static(br#"{"token":"answer-s3cret"}"#),
            })
        })
    }
}

#[test]
fn the_call_span_uses_the_semantic_convention_names_and_holds_no_secret() {
    let layer = CallSpans::default();
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = HttpClient::with_transport(Arc::new(Answer));
            let mut request = Request::new(
                http::Method::POST,
                "https://kassa.example:8443/api/v1/pay?token=query-s3cret&amount=1"
                    .parse()
                    .unwrap(),
            );
            request.headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_static("Bearer header-s3cret"),
            );
            request.body = Bytes::from_static(br#"{"card":"body-s3cret"}"#);
            const PAY: Operation = Operation::not_idempotent("kassa", "create_payment");
            client.execute(&PAY, request).await.unwrap();
        });
    });

    let fields = layer.fields.0.lock().unwrap().clone();
    assert_eq!(layer.ids.lock().unwrap().len(), 1, "one payments.call span");
    let get = |name: &str| fields.get(name).map(String::as_str);
    assert_eq!(get("payments.provider"), Some("kassa"));
    assert_eq!(get("payments.operation"), Some("create_payment"));
    assert_eq!(get("http.request.method"), Some("POST"));
    assert_eq!(get("server.address"), Some("kassa.example"));
    assert_eq!(get("url.path"), Some("/api/v1/pay"));
    assert_eq!(get("http.response.status_code"), Some("201"));
    assert_eq!(get("payments.attempts"), Some("1"));
    assert!(
        get("payments.latency_ms").is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "{fields:?}"
    );
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "http.request.method",
            "http.response.status_code",
            "payments.attempts",
            "payments.latency_ms",
            "payments.operation",
            "payments.provider",
            "server.address",
            "url.path",
        ],
        "no other field"
    );
    for (name, value) in &fields {
        assert!(
            !value.contains("s3cret") && !value.contains('?') && !value.contains("token"),
            "{name} = {value}"
        );
    }
}
