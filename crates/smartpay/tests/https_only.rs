//! Credentials never travel in clear: the builder refuses plain http (and a client certificate
//! over it) before any connection is made. A listener on 127.0.0.1 counts the connections.

mod common;

use std::time::Duration;

use common::{json, Server};
use smartpay::{Client, Error, Secret};

fn refused(result: Result<Client, Error>) -> String {
    match result {
        Err(err @ Error::Invalid(_)) => {
            assert!(!err.may_have_been_sent() && !err.is_retryable(), "{err:?}");
            let e = err.invalid().expect("an Invalid");
            assert!(
                e.is_about("base_url") || e.is_about("client_identity"),
                "{e:?}"
            );
            e.to_string()
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_http_is_refused_before_any_connection() {
    let server = Server::start(|_, _| json(200, r#"{"status":"ok"}"#)).await;
    let certs = payments_sandbox::smartpay::Certificates::generate().expect("certificates");
    let identity = || {
        (
            certs.client_cert_pem.clone(),
            Secret::from(certs.client_key_pem.clone()),
        )
    };

    // Without the opt-in: refused, with credentials, with a client certificate, or with none.
    let e = refused(
        Client::builder()
            .environment(smartpay::Environment::Custom(
                server.base().parse().unwrap(),
            ))
            .credentials("kassa-0001", Secret::from("kassa-password-1"))
            .build(),
    );
    assert!(e.contains("in clear"), "{e}");
    let (chain, key) = identity();
    refused(
        Client::builder()
            .environment(smartpay::Environment::Custom(
                server.base().parse().unwrap(),
            ))
            .client_identity_pem(chain, key)
            .build(),
    );
    refused(
        Client::builder()
            .environment(smartpay::Environment::Custom(
                server.base().parse().unwrap(),
            ))
            .build(),
    );

    // With the opt-in, a client certificate is still refused: only TLS can present it.
    let (chain, key) = identity();
    let e = refused(
        Client::builder()
            .environment(smartpay::Environment::Custom(
                server.base().parse().unwrap(),
            ))
            .allow_plain_http_to_loopback()
            .client_identity_pem(chain, key)
            .credentials("kassa-0001", Secret::from("kassa-password-1"))
            .build(),
    );
    assert!(e.contains("only presented over https://"), "{e}");

    // The opt-in is for loopback only: the guide's http:// test host stays refused.
    let e = refused(
        Client::builder()
            .environment(smartpay::Environment::Custom(
                "http://kassa-api.test.r-proc.net".parse().unwrap(),
            ))
            .allow_plain_http_to_loopback()
            .build(),
    );
    assert!(e.contains("loopback"), "{e}");

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.accepts(), 0, "nothing connected");

    // The listener does count: with the opt-in and no certificate, the same URL is reached.
    server
        .client()
        .ping()
        .await
        .expect("ping over plain http to loopback");
    assert_eq!(server.accepts(), 1);
}

#[tokio::test]
async fn the_named_base_urls_are_https() {
    let c = Client::builder()
        .credentials("kassa-0001", Secret::from("pw"))
        .build()
        .expect("the default builds");
    assert_eq!(c.base_url().as_str(), "https://kassa-api.r-proc.net");
    assert_eq!(smartpay::Environment::PRODUCTION_URL, c.base_url().as_str());
    let t = Client::builder()
        .environment(smartpay::Environment::Test)
        .credentials("kassa-0001", Secret::from("pw"))
        .build()
        .expect("the test host builds");
    assert_eq!(t.base_url().as_str(), "https://kassa-api.test.r-proc.net");
    assert_eq!(smartpay::Environment::TEST_URL, t.base_url().as_str());
}
