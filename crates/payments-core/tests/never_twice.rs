//! "A non-idempotent call that may have reached the provider is never sent again", against real
//! servers on 127.0.0.1 that count what reaches them:
//!
//! - the guard in `HttpClient` holds against a classifier that says `Retry` for everything;
//! - the one way past it after an answer is a `NotActedOn` proof for that very operation;
//! - TLS: a corrupted record after the request was read may have been sent (never re-sent),
//!   while a client certificate refused by a TLS 1.3 alert was not (and may be re-sent).

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use payments_core::{
    ClientIdentity, Error, ErrorKind, HttpClient, HttpTransport, NotActedOn, Operation, Request,
    Response, RetryClassifier, RetryDecision, RetryPolicy, Secret, Timeouts,
};
use payments_testkit::tls::{Alpn, ClientAuth, ClientCert, TestPki};
use payments_testkit::{answer, refused_addr, Scripted, Step};

const IDEM: Operation = Operation::idempotent("test", "status");
const ONCE: Operation = Operation::not_idempotent("test", "create");
/// A call whose provider answers 401 before it looks at the call (Smart Pay's contract).
const RELEASE: Operation =
    Operation::not_idempotent("test", "release").not_acted_on_when(&[StatusCode::UNAUTHORIZED]);
const REFUND: Operation =
    Operation::not_idempotent("test", "refund").not_acted_on_when(&[StatusCode::UNAUTHORIZED]);

/// A classifier that asks for a retry after every outcome, success included.
#[derive(Debug)]
struct AlwaysRetry;

impl RetryClassifier for AlwaysRetry {
    fn classify(&self, _: &Operation, _: Result<&Response, &Error>) -> RetryDecision {
        RetryDecision::Retry {
            server_hint: None,
            timeout: false,
        }
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .with_jitter_seed(11)
}

fn timeouts() -> Timeouts {
    Timeouts::default()
        .with_connect(Duration::from_secs(2))
        .with_attempt(Duration::from_millis(500))
        .with_total(Duration::from_secs(10))
}

/// A client over `transport` whose classifier always says `Retry`.
fn eager(transport: HttpTransport) -> HttpClient {
    HttpClient::from(transport)
        .with_timeouts(timeouts())
        .with_retry_policy(policy().with_classifier(Arc::new(AlwaysRetry)))
}

fn plain() -> HttpTransport {
    HttpTransport::builder().build().unwrap()
}

fn post(url: &str) -> Request {
    Request::new(http::Method::POST, url.parse().unwrap()).with_body(&b"{\"amount\":100}"[..])
}

#[tokio::test]
async fn a_classifier_cannot_resend_a_call_that_was_answered() {
    for status in [503u16, 502, 429, 200, 500] {
        let server = Scripted::serve(vec![answer(status, &[], b"answered")]).await;
        let resp = eager(plain())
            .execute(&ONCE, post(&server.url("/create")))
            .await
            .unwrap();
        assert_eq!(resp.status.as_u16(), status);
        assert_eq!(
            server.requests(),
            1,
            "{status}: an answered, non-idempotent call was sent again"
        );

        // The classifier is live: an idempotent call is retried after the same answer.
        let server = Scripted::serve(vec![answer(status, &[], b"answered")]).await;
        eager(plain())
            .execute(&IDEM, post(&server.url("/status")))
            .await
            .ok();
        assert_eq!(server.requests(), 3, "{status}");
    }
}

#[tokio::test]
async fn a_classifier_cannot_resend_a_call_that_may_have_been_sent() {
    for step in [Step::ResetAfterRead, Step::StallHeaders, Step::Truncate] {
        let server = Scripted::serve(vec![step.clone(), answer(200, &[], b"ok")]).await;
        let err = eager(plain())
            .execute(&ONCE, post(&server.url("/create")))
            .await
            .unwrap_err();
        assert!(err.may_have_been_sent(), "{step:?}: {err:?}");
        assert_eq!(err.attempts(), 1, "{step:?}");
        assert_eq!(server.requests(), 1, "{step:?}: sent twice");
    }

    // Nothing was sent: the same classifier's retries are let through.
    let (addr, _held) = refused_addr();
    let err = eager(plain())
        .execute(&ONCE, post(&format!("http://{addr}/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Connect);
    assert_eq!(err.attempts(), 3);
}

#[tokio::test]
async fn a_declared_status_lets_the_guard_send_again() {
    // 401 is declared: it proves the release was not acted on, so the retry is let through.
    let server = Scripted::serve(vec![
        answer(401, &[], b"session expired"),
        answer(200, &[], b"released"),
    ])
    .await;
    let resp = eager(plain())
        .execute(&RELEASE, post(&server.url("/release")))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"released");
    assert_eq!(server.requests(), 2);

    // The same 401 for an operation that does not declare it, or another status for one that
    // does: sent once.
    for (op, status) in [(ONCE, 401u16), (RELEASE, 403), (RELEASE, 503)] {
        let server =
            Scripted::serve(vec![answer(status, &[], b"no"), answer(200, &[], b"ok")]).await;
        let resp = eager(plain())
            .execute(&op, post(&server.url("/x")))
            .await
            .unwrap();
        assert_eq!(resp.status.as_u16(), status);
        assert_eq!(server.requests(), 1, "{} after {status}", op.name);
    }
}

#[tokio::test]
async fn resend_takes_the_proof_of_a_declared_answer() {
    let server = Scripted::serve(vec![
        answer(401, &[], b"session expired"),
        answer(200, &[], b"released"),
    ])
    .await;
    let client = HttpClient::from(plain())
        .with_timeouts(timeouts())
        .with_retry_policy(policy());
    let first = client
        .execute(&RELEASE, post(&server.url("/release")))
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    let proof = NotActedOn::from_answer(&RELEASE, &first).expect("a 401 is declared");
    assert_eq!(proof.status(), StatusCode::UNAUTHORIZED);
    let again = client
        .resend(&RELEASE, proof, post(&server.url("/release")))
        .await
        .unwrap();
    assert_eq!(&again.body[..], b"released");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_proof_is_refused_for_another_status_or_another_operation() {
    let unauthorized = Response::new(StatusCode::UNAUTHORIZED, Default::default(), "expired");
    let server_error = Response::new(StatusCode::INTERNAL_SERVER_ERROR, Default::default(), "");
    assert!(NotActedOn::from_answer(&RELEASE, &server_error).is_none());
    assert!(NotActedOn::from_answer(&ONCE, &unauthorized).is_none());

    let server = Scripted::serve(vec![answer(200, &[], b"ok")]).await;
    let client = HttpClient::from(plain()).with_timeouts(timeouts());
    // Another operation, and the same names without the declaration.
    let undeclared = Operation::not_idempotent("test", "release");
    for other in [REFUND, undeclared] {
        let proof = NotActedOn::from_answer(&RELEASE, &unauthorized).unwrap();
        let err = client
            .resend(&other, proof, post(&server.url("/x")))
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config(_)), "{err:?}");
        assert!(!err.may_have_been_sent());
        assert_eq!(err.attempts(), 0);
        assert_eq!(err.operation(), Some(other.name));
    }
    assert_eq!(server.requests(), 0, "nothing was sent");
}

// --- TLS ------------------------------------------------------------------------------------

fn trusting(pki: &TestPki) -> payments_core::TransportBuilder {
    HttpTransport::builder()
        .add_root_pem(pki.ca_pem().as_bytes())
        .unwrap()
        .only_added_roots()
}

fn identity(cert: &ClientCert) -> ClientIdentity {
    ClientIdentity::from_pem(
        cert.chain_pem.as_bytes(),
        &Secret::from(cert.key_pem.clone()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_corrupted_record_after_the_request_may_have_been_sent() {
    let pki = TestPki::new("payments-core test CA");
    // HTTP/1.1: rustls' typed error reaches the classifier.
    let config = pki.server_config(Alpn::Http1, ClientAuth::None);
    let server = Scripted::serve_tls(config.clone(), vec![Step::CorruptRecordAfterRead]).await;
    let err = eager(trusting(&pki).build().unwrap())
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Tls, "{err:?}");
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests(), 1, "a payment was sent twice");
    assert_eq!(
        err.to_string(),
        "test create: TLS failed after the connection was established"
    );

    // An idempotent call is retried by the same classifier: each attempt reached the server.
    let server = Scripted::serve_tls(config, vec![Step::CorruptRecordAfterRead]).await;
    let err = eager(trusting(&pki).build().unwrap())
        .execute(&IDEM, post(&server.url("/status")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Tls);
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests(), 3);

    // HTTP/2: h2 keeps only the error's text, so the kind is `Io`; it may have been sent all
    // the same, and the call used one connection only.
    let config = pki.server_config(Alpn::H2AndHttp1, ClientAuth::None);
    let server = Scripted::serve_tls(config, vec![Step::CorruptRecordAfterRead]).await;
    let err = eager(trusting(&pki).build().unwrap())
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Io | ErrorKind::Tls),
        "{err:?}"
    );
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.connections(), 1, "sent again on a new connection");
}

#[tokio::test]
async fn a_refused_client_certificate_was_not_sent() {
    let pki = TestPki::new("payments-core test CA");
    let stranger = TestPki::new("another CA").issue_client("kassa-1");
    for alpn in [Alpn::Http1, Alpn::H2AndHttp1] {
        let config = pki.server_config(alpn, ClientAuth::Required(&pki));
        for presented in [None, Some(&stranger)] {
            let case = format!(
                "{alpn:?}, presenting {}",
                presented.map_or("none", |_| "another CA's")
            );
            let server = Scripted::serve_tls(config.clone(), vec![answer(200, &[], b"ok")]).await;
            let mut builder = trusting(&pki);
            if let Some(cert) = presented {
                builder = builder.client_identity(identity(cert));
            }
            let transport = builder.build().unwrap();

            // The default classifier: a refused certificate does not heal, so it is final.
            let err = HttpClient::from(transport.clone())
                .with_timeouts(timeouts())
                .execute(&ONCE, post(&server.url("/create")))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Tls, "{case}: {err:?}");
            assert!(!err.may_have_been_sent(), "{case}: {err:?}");
            assert_eq!(err.attempts(), 1, "{case}");
            assert_eq!(err.to_string(), "test create: TLS handshake failed");

            // Proven not sent: the guard lets an eager classifier's retries through.
            let err = eager(transport)
                .execute(&ONCE, post(&server.url("/create")))
                .await
                .unwrap_err();
            assert!(!err.may_have_been_sent(), "{case}: {err:?}");
            assert_eq!(err.attempts(), 3, "{case}");
            assert_eq!(server.requests(), 0, "{case}: the server read a request");
            assert_eq!(server.refused_handshakes(), 4, "{case}");
        }
    }

    // The control: a certificate of the right CA is accepted by the same server.
    let config = pki.server_config(Alpn::Http1, ClientAuth::Required(&pki));
    let server = Scripted::serve_tls(config, vec![answer(200, &[], b"ok")]).await;
    let transport = trusting(&pki)
        .client_identity(identity(&pki.issue_client("kassa-1")))
        .build()
        .unwrap();
    let resp = HttpClient::from(transport)
        .execute(&ONCE, post(&server.url("/create")))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"ok");
    assert_eq!(server.requests(), 1);
    assert_eq!(server.refused_handshakes(), 0);
}
