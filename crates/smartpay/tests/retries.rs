//! Retry safety with a scripted transport: release and refund are never re-sent once they may
//! have been received; idempotent calls are; a 401 causes one re-authentication and one resend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payments_core::http::{HeaderMap, HeaderValue, StatusCode};
use payments_core::{
    BoxFuture, Error as CoreError, ErrorKind, Request, Response, RetryPolicy, Transport,
};
use smartpay::ReleaseRequest;
use smartpay::{Amount, Client, Error, KassaIdGenerator, Secret};

type Script = Box<dyn Fn(&str, usize) -> Result<Response, CoreError> + Send + Sync>;

struct Fake {
    calls: Mutex<HashMap<String, usize>>,
    cookies: Mutex<Vec<Option<String>>>,
    script: Script,
}

impl Fake {
    fn new(
        script: impl Fn(&str, usize) -> Result<Response, CoreError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Fake {
            calls: Mutex::new(HashMap::new()),
            cookies: Mutex::new(Vec::new()),
            script: Box::new(script),
        })
    }
    fn count(&self, path: &str) -> usize {
        self.calls.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Transport for Fake {
    fn send(&self, request: Request) -> BoxFuture<Result<Response, CoreError>> {
        let path = request.uri.path().to_owned();
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let c = calls.entry(path.clone()).or_insert(0);
            *c += 1;
            *c
        };
        if path != "/v1/auth" {
            self.cookies.lock().unwrap().push(
                request
                    .headers
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            );
        }
        let out = (self.script)(&path, n);
        Box::pin(async move { out })
    }
}

fn json(status: u16, body: &str) -> Result<Response, CoreError> {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    Ok(Response {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
        body: body.to_owned().into(),
    })
}

fn auth_ok(n: usize) -> Result<Response, CoreError> {
    let mut r = json(200, r#"{"kassa_id":"k"}"#)?;
    r.headers.insert(
        "set-cookie",
        HeaderValue::from_str(&format!("sid=token{n}; Path=/")).unwrap(),
    );
    Ok(r)
}

fn reset() -> Result<Response, CoreError> {
    Err(CoreError::new(ErrorKind::Io).with_sent(true))
}

fn client(fake: Arc<Fake>) -> Client {
    Client::builder()
        .environment(smartpay::Environment::Custom(
            "https://kassa.invalid".parse().unwrap(),
        ))
        .credentials("k", Secret::from("pw"))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .transport(fake)
        .build()
        .unwrap()
}

fn release_req() -> ReleaseRequest {
    ReleaseRequest::builder()
        .purchase_id("p-1")
        .amount(Amount::from_minor(100))
        .build()
        .unwrap()
}

#[tokio::test]
async fn release_is_not_resent_after_it_may_have_been_received() {
    let fake = Fake::new(|path, n| match path {
        "/v1/auth" => auth_ok(n),
        _ => reset(),
    });
    let c = client(fake.clone());
    let err = c.release(&release_req()).await.unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(fake.count("/v1/purchase/release"), 1);

    let err = c
        .refund(
            "p-1",
            &KassaIdGenerator::new().next_id(),
            Amount::from_minor(1),
        )
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent());
    assert_eq!(fake.count("/v1/purchase/refund"), 1);

    // The idempotent status call is retried.
    assert!(c.purchase_status("p-1").await.is_err());
    assert_eq!(fake.count("/v1/purchase/status"), 3);
}

#[tokio::test]
async fn a_401_reauthenticates_once_and_resends_once() {
    let fake = Fake::new(|path, n| match (path, n) {
        ("/v1/auth", n) => auth_ok(n),
        ("/v1/purchase/release", 1) => json(401, r#"{"code":"unauthorized","message":"expired"}"#),
        ("/v1/purchase/release", _) => json(200, r#"{"purchase_id":"p-1","status":"processing"}"#),
        _ => json(401, r#"{"code":"unauthorized","message":"expired"}"#),
    });
    let c = client(fake.clone());
    let resp = c.release(&release_req()).await.unwrap();
    assert_eq!(resp.purchase_id.as_deref(), Some("p-1"));
    assert_eq!(fake.count("/v1/auth"), 2);
    assert_eq!(fake.count("/v1/purchase/release"), 2);
    let cookies = fake.cookies.lock().unwrap().clone();
    assert_eq!(
        cookies,
        [Some("sid=token1".to_owned()), Some("sid=token2".to_owned())]
    );

    // A second 401 in a row is final.
    let err = c.purchase_status("p-1").await.unwrap_err();
    assert!(
        matches!(&err, Error::Provider(p) if p.http_status == 401 && p.code().is_none()),
        "{err:?}"
    );
    assert_eq!(fake.count("/v1/purchase/status"), 2);
    assert_eq!(fake.count("/v1/auth"), 3);
}

#[tokio::test]
async fn provider_refusals_and_integration_failures_stay_apart() {
    let fake = Fake::new(|path, n| match path {
        "/v1/auth" => auth_ok(n),
        "/v1/purchase/status" => json(200, "<html>oops</html>"),
        "/v1/ping" => json(500, "upstream exploded"),
        _ => json(
            409,
            r#"{"code":"purchase_already_released","message":"no"}"#,
        ),
    });
    let c = client(fake);
    let err = c.release(&release_req()).await.unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("purchase_already_released")
    );
    assert!(matches!(&err, Error::Provider(p) if p.http_status == StatusCode::CONFLICT));
    match c.purchase_status("p-1").await.unwrap_err() {
        Error::Transport(e) => assert!(matches!(e.kind(), ErrorKind::Decode { .. }), "{e:?}"),
        other => panic!("{other:?}"),
    }
    match c.ping().await.unwrap_err() {
        Error::Transport(e) => assert_eq!(e.status(), Some(StatusCode::INTERNAL_SERVER_ERROR)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auth_without_a_cookie_or_credentials_is_a_typed_error() {
    let fake = Fake::new(|_, _| json(200, "{}"));
    let err = client(fake).purchase_status("p").await.unwrap_err();
    match &err {
        Error::Transport(e) => {
            assert!(
                matches!(e.kind(), payments_core::ErrorKind::Decode { .. }),
                "{e:?}"
            );
            assert!(e.to_string().contains("sets the auth cookie"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.may_have_been_sent());
    let bare = Client::builder()
        .transport(Fake::new(|_, _| json(200, "{}")))
        .build()
        .unwrap();
    assert!(matches!(
        bare.purchase_status("p").await,
        Err(Error::Invalid(i)) if i.is_about("credentials")
    ));
}
