//! Issue 13: every call carries a `User-Agent` of `kupikupi/<version>` by default, and the
//! caller's `user_agent(..)` replaces it. Seen by a loopback server.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::Router;
use kupikupi::{Client, Phone, Secret};
use payments_sandbox::server::serve;

#[tokio::test]
async fn the_server_sees_the_default_user_agent_or_the_callers() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let s = Arc::clone(&seen);
    let router = Router::new().route(
        "/api/v1/transfer/balance",
        post(move |headers: http::HeaderMap| {
            let s = Arc::clone(&s);
            async move {
                let ua = headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                s.lock().unwrap().push(ua);
                r#"{"status":true,"errorCode":"0","balance":"10.00"}"#
            }
        }),
    );
    let server = serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let builder = || {
        Client::builder()
            .platform_uid("M2hULcD58iYGkmS7")
            .secret_key(Secret::from("yIKirCvplm8N1D9g"))
            .base_url(format!("{}/api/v1/transfer", server.base_url()))
            .allow_plain_http_to_loopback()
    };
    let phone = Phone::new("79000000001").unwrap();
    let default = builder().build().unwrap();
    assert_eq!(default.balance(&phone).await.unwrap().minor(), 1000);
    let custom = builder().user_agent("my-shop/2.0").build().unwrap();
    custom.balance(&phone).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Some(concat!("kupikupi/", env!("CARGO_PKG_VERSION")).to_owned()),
            Some("my-shop/2.0".to_owned()),
        ]
    );
    // A value that is not a header is refused by build(), as an invalid argument.
    let err = builder().user_agent("bad\nagent").build().unwrap_err();
    assert!(err.invalid().unwrap().is_about("user_agent"), "{err}");
    server.shutdown().await;
}
