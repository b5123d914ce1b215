//! The wire rules of the client against a scripted server on 127.0.0.1 (plain http to loopback
//! by the named opt-in): what it sends, and how it reads what it gets.

mod common;

use std::time::{Duration, Instant};

use common::{body_json, json, json_with_cookies, Reply, Server};
use smartpay::{Amount, Error, KassaId, PurchaseOutcome, QrCode, RefundOutcome};
use smartpay::{PurchaseStatus, ReleaseRequest};

const LOGIN: &str = r#"{"kassa_id":"kassa-0001"}"#;

fn qr() -> QrCode {
    QrCode::parse(r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDA=","sign":"c2ln"}"#).unwrap()
}

fn kassa_id() -> KassaId {
    KassaId::new("1700000000000").unwrap()
}

#[tokio::test]
async fn an_empty_or_non_json_login_answer_that_sets_a_cookie_is_a_login() {
    for body in ["", "OK", "<html>welcome</html>", r#"{"kassa_id":5}"#] {
        let server = Server::start(move |req, _| match req.path.as_str() {
            "/v1/auth" => Reply::Answer(
                200,
                vec![("set-cookie", "kassa_session=s1; Path=/".into())],
                body.as_bytes().to_vec(),
            ),
            _ => json(200, r#"{"purchase_id":"p-1","status":"processing"}"#),
        })
        .await;
        let c = server.client();
        let status = c.purchase_status("p-1").await.unwrap_or_else(|e| {
            panic!("login answer {body:?}: {e}");
        });
        assert_eq!(status.status, PurchaseStatus::Processing);
        let calls = server.requests_to("/v1/purchase/status");
        assert_eq!(calls[0].cookies(), ["kassa_session=s1"], "{body:?}");
        assert_eq!(server.requests_to("/v1/auth").len(), 1);
        // The explicit login reads the same answer as empty.
        let auth = c.auth().await.unwrap();
        assert_eq!(auth.kassa_id, None, "{body:?}");
    }
}

#[tokio::test]
async fn a_login_answer_without_a_cookie_is_refused() {
    let server = Server::start(|_, _| json(200, LOGIN)).await;
    let err = server.client().purchase_status("p-1").await.unwrap_err();
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
    assert!(server.requests_to("/v1/purchase/status").is_empty());

    let server = Server::start(|_, _| json(200, "garbage")).await;
    match server.client().auth().await.unwrap_err() {
        Error::Transport(e) => assert!(
            matches!(e.kind(), payments_core::ErrorKind::Decode { .. }),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }

    let server =
        Server::start(|_, _| json(401, r#"{"code":"invalid_credentials","message":"no"}"#)).await;
    assert!(matches!(
        server.client().auth().await,
        Err(Error::Provider(p)) if p.http_status == 401
    ));
}

#[tokio::test]
async fn every_cookie_the_service_sets_is_kept_and_sent_back() {
    let server = Server::start(|req, n| match (req.path.as_str(), n) {
        ("/v1/auth", _) => json_with_cookies(
            200,
            LOGIN,
            &["kassa_session=s1; Path=/; HttpOnly", "LB=node-1; Path=/"],
        ),
        // The first status answer rotates the session and adds a sticky cookie.
        ("/v1/purchase/status", 1) => json_with_cookies(
            200,
            r#"{"status":"processing"}"#,
            &["kassa_session=s2", "sticky=a"],
        ),
        // An error answer's cookie is kept too.
        ("/v1/purchase/release", _) => json_with_cookies(
            409,
            r#"{"code":"purchase_already_released","message":"no"}"#,
            &["sticky=b"],
        ),
        _ => json(200, r#"{"status":"processing"}"#),
    })
    .await;
    let c = server.client();
    c.purchase_status("p-1").await.unwrap();
    c.purchase_status("p-1").await.unwrap();
    let release = ReleaseRequest::new(Amount::from_minor(100), "p-1");
    let err = c.release(&release).await.unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("purchase_already_released")
    );
    c.purchase_status("p-1").await.unwrap();
    let sent: Vec<Vec<String>> = server
        .requests_to("/v1/purchase/status")
        .iter()
        .map(|r| r.cookies())
        .collect();
    assert_eq!(
        sent,
        [
            vec!["LB=node-1", "kassa_session=s1"],
            vec!["LB=node-1", "kassa_session=s2", "sticky=a"],
            vec!["LB=node-1", "kassa_session=s2", "sticky=b"],
        ]
    );
    // The cookie values never show in the client's Debug.
    let debug = format!("{c:?}");
    assert!(
        debug.contains("kassa_session") && !debug.contains("s2"),
        "{debug}"
    );
}

#[tokio::test]
async fn ping_and_error_answers_send_the_cookie_when_the_client_has_one() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        "/v1/ping" => json(200, r#"{"status":"ok"}"#),
        "/v1/error_answers" => json(200, r#"{"errors":[]}"#),
        _ => json(200, r#"{"status":"processing"}"#),
    })
    .await;
    let c = server.client();
    // Before any login: sent without a cookie, and no login first.
    c.ping().await.unwrap();
    c.error_answers().await.unwrap();
    assert!(server.requests_to("/v1/auth").is_empty());
    c.auth().await.unwrap();
    c.ping().await.unwrap();
    c.error_answers().await.unwrap();
    let cookies = |path: &str| -> Vec<Vec<String>> {
        server
            .requests_to(path)
            .iter()
            .map(|r| r.cookies())
            .collect()
    };
    assert_eq!(cookies("/v1/ping"), [vec![], vec!["kassa_session=s1"]]);
    assert_eq!(
        cookies("/v1/error_answers"),
        [vec![], vec!["kassa_session=s1"]]
    );
}

#[tokio::test]
async fn an_unknown_status_ends_waiting_at_once_as_a_typed_outcome() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        "/v1/purchase/code/commit" => json(200, r#"{"purchase_id":"p-1"}"#),
        "/v1/purchase/release" => json(200, r#"{}"#),
        "/v1/purchase/status" => json(200, r#"{"status":"on_hold"}"#),
        "/v1/purchase/refund" => json(200, r#"{"refund_id":"r-1","status":"processing"}"#),
        "/v1/purchase/refund/status" => json(200, r#"{"status":"queued"}"#),
        _ => json(500, "unexpected"),
    })
    .await;
    let c = server.client();
    let mut released = c
        .commit_code(&qr(), &kassa_id())
        .await
        .unwrap()
        .release(Amount::from_minor(100))
        .await
        .unwrap();
    let started = Instant::now();
    let outcome = released
        .wait_for_status(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(outcome, PurchaseOutcome::Unrecognised("on_hold".into()));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.requests_to("/v1/purchase/status").len(), 1);
    // Nothing is confirmed (or cancelled) on an unrecognised status.
    let err = released.confirm().await.unwrap_err();
    assert!(
        matches!(err, Error::PurchaseNotSuccessful { .. }),
        "{err:?}"
    );
    assert!(server.requests_to("/v1/purchase/kassa/status").is_empty());

    // The same for a refund.
    let mut refund = c
        .refund("p-1", &kassa_id(), Amount::from_minor(100))
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        refund
            .wait_for_status(Duration::from_secs(30))
            .await
            .unwrap(),
        RefundOutcome::Unrecognised("queued".into())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.requests_to("/v1/purchase/refund/status").len(), 1);
    assert!(matches!(
        refund.confirm().await,
        Err(Error::RefundNotSuccessful { .. })
    ));
    assert!(server
        .requests_to("/v1/purchase/refund/kassa/status")
        .is_empty());
}

#[tokio::test]
async fn known_statuses_are_matched_without_regard_to_case() {
    let server = Server::start(|req, n| match (req.path.as_str(), n) {
        ("/v1/auth", _) => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        ("/v1/purchase/status", 1) => json(200, r#"{"status":"Processing"}"#),
        ("/v1/purchase/status", _) => json(200, r#"{"status":"SUCCESS"}"#),
        ("/v1/purchase/kassa/status", _) => json(200, "{}"),
        ("/v1/purchase/refund", _) => json(200, r#"{"refund_id":"r-1"}"#),
        ("/v1/purchase/refund/status", _) => json(200, r#"{"status":"Declined"}"#),
        _ => json(500, "unexpected"),
    })
    .await;
    let c = server.client();
    let mut released = c.resume_purchase("p-1", Amount::from_minor(100));
    assert_eq!(
        released
            .wait_for_status(Duration::from_secs(5))
            .await
            .unwrap(),
        PurchaseOutcome::Paid
    );
    assert_eq!(server.requests_to("/v1/purchase/status").len(), 2);
    let paid = released.confirm().await.unwrap();
    let mut refund = paid
        .refund(&kassa_id(), Amount::from_minor(100))
        .await
        .unwrap();
    assert_eq!(
        refund.last_status(),
        None,
        "the refund answer had no status"
    );
    match refund
        .wait_for_status(Duration::from_secs(5))
        .await
        .unwrap()
    {
        RefundOutcome::NotRefunded { status, .. } => {
            assert_eq!(status, smartpay::RefundStatus::Declined)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_pending_status_past_the_deadline_is_an_error_not_an_outcome() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        _ => json(200, r#"{"status":"processing"}"#),
    })
    .await;
    let mut released = server
        .client()
        .resume_purchase("p-1", Amount::from_minor(100));
    match released.wait_for_status(Duration::from_millis(60)).await {
        Err(Error::DeadlineElapsed { last_status }) => assert_eq!(last_status, "processing"),
        other => panic!("{other:?}"),
    }
    assert!(server.requests_to("/v1/purchase/status").len() > 1);
    assert!(server.requests_to("/v1/purchase/kassa/status").is_empty());
}

/// A timeout too large to add to now is no deadline, never a panic; polling still ends when
/// the status does.
#[tokio::test]
async fn a_huge_timeout_never_panics() {
    let server = Server::start(|req, n| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        "/v1/purchase/status" if n < 3 => json(200, r#"{"status":"processing"}"#),
        "/v1/purchase/status" => json(200, r#"{"status":"success"}"#),
        "/v1/purchase/refund" => json(200, r#"{"refund_id":"r-1","status":"processing"}"#),
        "/v1/purchase/refund/status" => json(200, r#"{"status":"declined"}"#),
        _ => json(500, "unexpected"),
    })
    .await;
    let c = server.client();
    let mut released = c.resume_purchase("p-1", Amount::from_minor(100));
    let outcome = released.wait_for_status(Duration::MAX).await.unwrap();
    assert_eq!(outcome, PurchaseOutcome::Paid);
    assert_eq!(server.requests_to("/v1/purchase/status").len(), 3);
    let mut refund = c
        .refund("p-1", &kassa_id(), Amount::from_minor(100))
        .await
        .unwrap();
    let outcome = refund.wait_for_status(Duration::MAX).await.unwrap();
    assert!(
        matches!(outcome, RefundOutcome::NotRefunded { .. }),
        "{outcome:?}"
    );
}

/// The caller's timeout is the deadline; a deadline of the client's poll policy shortens it.
#[tokio::test]
async fn a_poll_policys_own_deadline_shortens_the_timeout() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        _ => json(200, r#"{"status":"processing"}"#),
    })
    .await;
    let policy = smartpay::DEFAULT_POLL_POLICY
        .to_builder()
        .interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(10))
        .deadline(Duration::from_millis(50))
        .build()
        .unwrap();
    let c = server.builder().poll_policy(policy).build().unwrap();
    let mut released = c.resume_purchase("p-1", Amount::from_minor(100));
    let started = Instant::now();
    match released.wait_for_status(Duration::from_secs(60)).await {
        Err(Error::DeadlineElapsed { last_status }) => assert_eq!(last_status, "processing"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(server.requests_to("/v1/purchase/status").len() > 1);
}

#[tokio::test]
async fn answers_need_only_what_the_flow_cannot_go_on_without() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        // No status in the commit and release answers, nor anything in a kassa status or
        // fiscal answer.
        "/v1/purchase/code/commit" => json(200, r#"{"purchase_id":"p-1"}"#),
        "/v1/purchase/release" => Reply::Answer(200, vec![], vec![]),
        "/v1/purchase/status" => json(200, r#"{"status":"success"}"#),
        "/v1/purchase/kassa/status" => json(200, "{}"),
        "/v1/purchase/fiscal" => json(200, "{}"),
        _ => json(500, "unexpected"),
    })
    .await;
    let c = server.client();
    let committed = c.commit_code(&qr(), &kassa_id()).await.unwrap();
    assert_eq!(committed.purchase_id(), "p-1");
    let mut released = committed.release(Amount::from_minor(100)).await.unwrap();
    assert_eq!(released.last_status(), None);
    released
        .wait_for_status(Duration::from_secs(5))
        .await
        .unwrap();
    let paid = released.confirm().await.unwrap();
    let receipt = paid
        .send_fiscal("0000000001012345", "3522589123")
        .await
        .unwrap();
    assert_eq!(receipt.receipt_id, None);

    // Without the purchase id, a commit cannot go on: that is a decode error, which may have
    // been acted on.
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        _ => json(200, r#"{"status":"committed"}"#),
    })
    .await;
    let err = server
        .client()
        .commit_code(&qr(), &kassa_id())
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent());
    assert!(
        err.to_string().contains("missing field `purchase_id`"),
        "{err}"
    );
}

#[tokio::test]
async fn the_qr_code_is_sent_as_it_was_read() {
    let scanned = serde_json::json!({
        "id_loyalty": 70001234567_u64,
        "encrypted": "b3RwLjE3MDAw\nMDAwMDAudXNlcg",
        "sign": "c2lnbmF0-dXJl_w",
        "v": 2
    });
    let qr = QrCode::parse(&scanned.to_string()).unwrap();
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        "/v1/purchase/code/commit" => json(200, r#"{"purchase_id":"p-1"}"#),
        _ => json(200, r#"{"receipt_id":"r-1"}"#),
    })
    .await;
    let c = server.client();
    let _ = c.commit_code(&qr, &kassa_id()).await.unwrap();
    let receipt: smartpay::Receipt = serde_json::from_value(serde_json::json!({
        "kassa_reg_number": "1", "fiscal_sign": "2", "date_time": "2026-11-23T15:00:00Z",
        "total": 100, "items": []
    }))
    .unwrap();
    c.send_fiscal_v2(&qr, None, receipt).await.unwrap();
    for path in ["/v1/purchase/code/commit", "/v2/purchase/fiscal"] {
        let body = body_json(&server.requests_to(path)[0]);
        assert_eq!(body["qr"], scanned, "{path}");
    }
    let text = " 7000123 ";
    let padded = QrCode::from_parts(text, "b3Rw", "c2ln").unwrap();
    let _ = c.commit_code(&padded, &kassa_id()).await.unwrap();
    let body = body_json(&server.requests_to("/v1/purchase/code/commit")[1]);
    assert_eq!(
        body["qr"]["id_loyalty"], text,
        "neither trimmed nor converted"
    );
    assert_eq!(body["qr"]["encrypted"], "b3Rw");
}

#[tokio::test]
async fn fiscal_calls_are_never_sent_twice_once_they_may_have_been_received() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=s1"]),
        // The connection is reset after each request is read: it may have been acted on.
        _ => Reply::Reset,
    })
    .await;
    let c = server.client();
    let v1 = smartpay::FiscalV1Request::new("3522589123", "0000000001012345", "p-1");
    let err = c.fiscal_v1(&v1).await.unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    let receipt: smartpay::Receipt = serde_json::from_value(serde_json::json!({
        "kassa_reg_number": "1", "fiscal_sign": "2", "date_time": "2026-11-23T15:00:00Z",
        "total": 100, "items": []
    }))
    .unwrap();
    let err = c
        .send_fiscal_v2(&qr(), Some("p-1"), receipt)
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(server.requests_to("/v1/purchase/fiscal").len(), 1);
    assert_eq!(server.requests_to("/v2/purchase/fiscal").len(), 1);
    // An idempotent call under the same fault is retried (3 attempts).
    assert!(c.purchase_status("p-1").await.is_err());
    assert_eq!(server.requests_to("/v1/purchase/status").len(), 3);
}

#[tokio::test]
async fn errors_quote_no_value_of_an_answer() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/v1/auth" => json_with_cookies(200, LOGIN, &["kassa_session=SECRET-COOKIE"]),
        // serde_json's message for this answer would quote the number.
        "/v1/purchase/status" => json(
            200,
            r#"{"purchase_id":"SECRET-ID","status":"processing","reason":987654321}"#,
        ),
        _ => json(500, r#"{"echo":{"encrypted":"SECRET-OTP"}}"#),
    })
    .await;
    let c = server.client();
    let err = c.purchase_status("p-1").await.unwrap_err();
    let release = ReleaseRequest::new(Amount::from_minor(100), "p-1");
    let err2 = c.release(&release).await.unwrap_err();
    for e in [err, err2] {
        let mut text = format!("{e} {e:?}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(" {s} {s:?}"));
            source = s.source();
        }
        assert!(
            !text.contains("SECRET") && !text.contains("987654321"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_401_logs_in_once_more_and_sends_the_call_once_more() {
    let server = Server::start(|req, n| match (req.path.as_str(), n) {
        ("/v1/auth", n) => json_with_cookies(200, LOGIN, &[&format!("kassa_session=s{n}")]),
        ("/v1/purchase/release", 1) => json(401, r#"{"code":"unauthorized","message":"expired"}"#),
        ("/v1/purchase/release", _) => json(200, r#"{"status":"processing"}"#),
        _ => json(401, r#"{"code":"unauthorized","message":"expired"}"#),
    })
    .await;
    let c = server.client();
    let release = ReleaseRequest::new(Amount::from_minor(100), "p-1");
    c.release(&release).await.unwrap();
    let sent: Vec<Vec<String>> = server
        .requests_to("/v1/purchase/release")
        .iter()
        .map(|r| r.cookies())
        .collect();
    assert_eq!(sent, [vec!["kassa_session=s1"], vec!["kassa_session=s2"]]);
    // A second 401 in a row is final.
    let err = c.purchase_status("p-1").await.unwrap_err();
    assert!(
        matches!(&err, Error::Provider(p) if p.http_status == 401 && p.code().is_none()),
        "{err:?}"
    );
    assert_eq!(server.requests_to("/v1/purchase/status").len(), 2);
    assert_eq!(server.requests_to("/v1/auth").len(), 3);
}

#[tokio::test]
async fn the_user_agent_is_the_crate_and_version_unless_overridden() {
    let server = Server::start(|_, _| json(200, r#"{"status":"ok"}"#)).await;
    server.client().ping().await.unwrap();
    server
        .builder()
        .user_agent("kassa-42/1.0")
        .build()
        .unwrap()
        .ping()
        .await
        .unwrap();
    let agents: Vec<_> = server
        .requests_to("/v1/ping")
        .iter()
        .map(|r| r.header("user-agent").map(str::to_owned))
        .collect();
    assert_eq!(
        agents,
        [
            Some(format!("smartpay/{}", env!("CARGO_PKG_VERSION"))),
            Some("kassa-42/1.0".to_owned())
        ]
    );
}
