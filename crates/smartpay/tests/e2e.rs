//! The client against the sandbox emulator (TLS with client certificates, on 127.0.0.1:0).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use payments_sandbox::smartpay::{self as emu, Config, Emulator, Outcome};
use smartpay::{
    Amount, Client, Error, KassaIdGenerator, PollPolicy, PurchaseOutcome, QrCode, RefundOutcome,
    Secret,
};
use smartpay::{PurchaseStatus, Receipt, ReceiptItem, RefundStatus, VatRate};

const WAIT: Duration = Duration::from_secs(10);

async fn emulator() -> Emulator {
    emu::start(Config::default()).await.expect("emulator")
}

fn client(e: &Emulator, kassa: usize) -> Client {
    let certs = e.certificates();
    let (login, password) = &e.kassas()[kassa];
    Client::builder()
        .environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
        .client_identity_pem(
            certs.client_cert_pem.clone(),
            Secret::from(certs.client_key_pem.clone()),
        )
        .trust_only_ca_pem(certs.ca_pem.clone())
        .credentials(login.clone(), Secret::from(password.clone()))
        .poll_policy(
            PollPolicy::builder()
                .interval(Duration::from_millis(10))
                .growth_percent(150)
                .max_interval(Duration::from_millis(40))
                .build()
                .expect("poll policy"),
        )
        .build()
        .expect("client")
}

fn qr(n: u32) -> QrCode {
    let b64 = base64::engine::general_purpose::STANDARD;
    QrCode::from_parts(
        &format!("7000{n}"),
        &b64.encode(format!("otp{n}.1700000000.user{n}")),
        &b64.encode(format!("signature-{n}")),
    )
    .expect("qr")
}

fn receipt(total: u64) -> Receipt {
    let item: ReceiptItem = serde_json::from_value(serde_json::json!({
        "name": "Milk 1L", "price": total, "quantity": "1", "amount": total, "vat": "vat10"
    }))
    .expect("item");
    assert_eq!(item.vat, Some(VatRate::Vat10));
    serde_json::from_value(serde_json::json!({
        "kassa_reg_number": "0000000001012345",
        "fiscal_sign": "3522589123",
        "date_time": "2026-11-23T15:00:00Z",
        "total": total,
        "items": [item],
    }))
    .expect("receipt")
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let e = emulator().await;
    let bare = Client::builder()
        .environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
        .trust_only_ca_pem(e.certificates().ca_pem.clone())
        .build()
        .unwrap();
    let err = bare.ping().await.expect_err("the handshake must fail");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    // A certificate from another CA is refused as well.
    let other = payments_sandbox::smartpay::Certificates::generate().unwrap();
    let stranger = Client::builder()
        .environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
        .client_identity_pem(
            other.client_cert_pem.clone(),
            Secret::from(other.client_key_pem.clone()),
        )
        .trust_only_ca_pem(e.certificates().ca_pem.clone())
        .build()
        .unwrap();
    assert!(matches!(stranger.ping().await, Err(Error::Transport(_))));
    // With the kassa's certificate the same call works.
    assert_eq!(
        client(&e, 0).ping().await.unwrap().status.as_deref(),
        Some("ok")
    );
}

#[tokio::test]
async fn the_trusted_roots_are_chosen_by_shape() {
    let e = emulator().await;
    let certs = e.certificates();
    let with = |b: smartpay::ClientBuilder| {
        b.environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
            .client_identity_pem(
                certs.client_cert_pem.clone(),
                Secret::from(certs.client_key_pem.clone()),
            )
            .build()
            .unwrap()
    };
    // The sandbox's CA added to the default roots, or alone: both reach it.
    let added = with(Client::builder().ca_pem(certs.ca_pem.clone()));
    assert!(added.ping().await.is_ok());
    let only = with(Client::builder().trust_only_ca_pem(certs.ca_pem.clone()));
    assert!(only.ping().await.is_ok());
    // The default roots alone, or only another CA: the sandbox's certificate is not trusted.
    let other = payments_sandbox::smartpay::Certificates::generate().unwrap();
    for c in [
        with(Client::builder()),
        with(Client::builder().trust_only_ca_pem(other.ca_pem.clone())),
    ] {
        match c.ping().await.unwrap_err() {
            Error::Transport(t) => {
                assert_eq!(t.kind(), &payments_core::ErrorKind::Tls, "{t:?}");
                assert!(!t.may_have_been_sent());
            }
            err => panic!("{err:?}"),
        }
    }
    // A CA that is not a certificate is refused when the client is built.
    let bad = Client::builder()
        .environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
        .trust_only_ca_pem("not a certificate")
        .build();
    assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let e = emulator().await;
    let certs = e.certificates();
    let c = Client::builder()
        .environment(smartpay::Environment::Custom(e.base_url().parse().unwrap()))
        .client_identity_pem(
            certs.client_cert_pem.clone(),
            Secret::from(certs.client_key_pem.clone()),
        )
        .ca_pem(certs.ca_pem.clone())
        .credentials("kassa-0001", Secret::from("wrong"))
        .build()
        .unwrap();
    let err = c.purchase_status("p-1").await.unwrap_err();
    assert!(
        matches!(&err, Error::Provider(p) if p.http_status == 401),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(e.auth_calls(), 0);
}

#[tokio::test]
async fn cookie_expiry_triggers_one_transparent_reauth() {
    let e = emulator().await;
    let c = client(&e, 0);
    let ids = KassaIdGenerator::new();
    let committed = c.commit_code(&qr(1), &ids.next_id()).await.unwrap();
    assert_eq!(e.auth_calls(), 1);
    e.expire_sessions();
    let status = c.purchase_status(committed.purchase_id()).await.unwrap();
    assert_eq!(status.status, PurchaseStatus::Committed);
    assert_eq!(e.auth_calls(), 2, "exactly one re-authentication");
    // The cookie is reused afterwards.
    c.purchase_status(committed.purchase_id()).await.unwrap();
    assert_eq!(e.auth_calls(), 2);

    // A short cookie lifetime expires on its own.
    e.set_cookie_lifetime(Duration::from_millis(50));
    e.expire_sessions();
    c.purchase_status(committed.purchase_id()).await.unwrap();
    assert_eq!(e.auth_calls(), 3);
    tokio::time::sleep(Duration::from_millis(80)).await;
    c.purchase_status(committed.purchase_id()).await.unwrap();
    assert_eq!(e.auth_calls(), 4);
}

#[tokio::test]
async fn authentication_is_single_flight() {
    let e = emulator().await;
    let c = client(&e, 0);
    let committed = c
        .commit_code(&qr(2), &KassaIdGenerator::new().next_id())
        .await
        .unwrap();
    let id = committed.purchase_id().to_owned();
    e.expire_sessions();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            let id = id.clone();
            tokio::spawn(async move { c.purchase_status(&id).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(e.auth_calls(), 2, "eight callers, one re-authentication");

    // A fresh client: eight concurrent first calls share one /v1/auth.
    let fresh = client(&e, 0);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = fresh.clone();
            let id = id.clone();
            tokio::spawn(async move { c.purchase_status(&id).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(e.auth_calls(), 3);
}

#[tokio::test]
async fn full_purchase_with_fiscal_receipts() {
    let e = emulator().await;
    let c = client(&e, 0);
    let ids = KassaIdGenerator::new();
    let kassa_id = ids.next_id();
    let code = qr(3);
    let committed = c.commit_code(&code, &kassa_id).await.unwrap();
    let purchase_id = committed.purchase_id().to_owned();
    assert_eq!(e.purchase(&purchase_id).unwrap().status, "committed");
    let mut released = committed
        .release(Amount::from_minor(125_050))
        .await
        .unwrap();
    assert_eq!(released.last_status(), Some(&PurchaseStatus::Processing));
    assert_eq!(
        released.wait_for_status(WAIT).await.unwrap(),
        PurchaseOutcome::Paid
    );
    let paid = released.confirm().await.unwrap();
    let r1 = paid
        .send_fiscal("0000000001012345", "3522589123")
        .await
        .unwrap();
    let r2 = paid.send_fiscal_v2(&code, receipt(125_050)).await.unwrap();
    assert_ne!(r1.receipt_id, r2.receipt_id);

    let p = e.purchase(&purchase_id).unwrap();
    assert_eq!(p.status, "success");
    assert_eq!(p.amount, Some(125_050));
    assert_eq!(p.kassa_purchase_id, kassa_id.as_str());
    assert_eq!(p.kassa_status.as_deref(), Some("success"));
    assert_eq!(p.release_calls, 1);
    let receipts = e.receipts();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0].version, 1);
    assert_eq!(receipts[0].body["fiscal_sign"], "3522589123");
    assert_eq!(receipts[1].body["receipt"]["total"], 125_050);
    assert_eq!(receipts[1].body["qr"]["sign"], code.sign());

    let status = c.purchase_status(&purchase_id).await.unwrap();
    assert_eq!(status.amount, Some(Amount::from_minor(125_050)));

    // A receipt for a purchase paid another way.
    let other = c.send_fiscal_v2(&qr(33), None, receipt(500)).await.unwrap();
    assert!(other.receipt_id.is_some_and(|id| !id.is_empty()));
    assert_eq!(e.receipts().len(), 3);
}

#[tokio::test]
async fn declined_purchase_cannot_be_confirmed() {
    let e = emulator().await;
    e.set_outcome(Outcome::Decline);
    let c = client(&e, 0);
    let committed = c
        .commit_code(&qr(4), &KassaIdGenerator::new().next_id())
        .await
        .unwrap();
    let mut released = committed.release(Amount::from_minor(1_000)).await.unwrap();
    match released.wait_for_status(WAIT).await.unwrap() {
        PurchaseOutcome::NotPaid { status, reason } => {
            assert_eq!(status, PurchaseStatus::Declined);
            assert!(reason.is_some());
        }
        other => panic!("expected a decline, got {other:?}"),
    }
    let id = released.purchase_id().to_owned();
    match released.confirm().await {
        Err(Error::PurchaseNotSuccessful { status, reason, .. }) => {
            assert_eq!(status, Some(PurchaseStatus::Declined));
            assert!(reason.is_some());
        }
        other => panic!("expected a decline, got {other:?}"),
    }
    assert_eq!(e.purchase(&id).unwrap().kassa_status, None);
}

/// A purchase still processing when the wait ends is an error, not an outcome; aborting it is
/// then the cashier's explicit decision (the guide's «Отмена оплаты»), never automatic.
#[tokio::test]
async fn the_cashier_can_abort_a_purchase_that_is_still_processing() {
    let e = emulator().await;
    let c = client(&e, 0);
    e.set_outcome_for("70005", Outcome::Slow);
    let committed = c
        .commit_code(&qr(5), &KassaIdGenerator::new().next_id())
        .await
        .unwrap();
    let mut released = committed.release(Amount::from_minor(700)).await.unwrap();
    match released.wait_for_status(Duration::from_millis(150)).await {
        Err(Error::DeadlineElapsed { last_status }) => assert_eq!(last_status, "processing"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    let id = released.purchase_id().to_owned();
    assert_eq!(
        released.cancel().await.unwrap(),
        Some(PurchaseStatus::Cancelled)
    );
    let p = e.purchase(&id).unwrap();
    assert_eq!(p.status, "cancelled");
    assert_eq!(p.kassa_status.as_deref(), Some("cancel"));

    // A committed purchase can be cancelled before release too.
    let committed = c
        .commit_code(&qr(55), &KassaIdGenerator::new().next_id())
        .await
        .unwrap();
    assert_eq!(
        committed.cancel().await.unwrap(),
        Some(PurchaseStatus::Cancelled)
    );
}

async fn paid(
    c: &Client,
    ids: &KassaIdGenerator,
    n: u32,
    amount: u64,
) -> smartpay::ConfirmedPurchase {
    let committed = c.commit_code(&qr(n), &ids.next_id()).await.unwrap();
    let mut released = committed.release(Amount::from_minor(amount)).await.unwrap();
    released.wait_for_status(WAIT).await.unwrap();
    released.confirm().await.unwrap()
}

#[tokio::test]
async fn refunds_up_to_the_purchase_and_no_further() {
    let e = emulator().await;
    let c = client(&e, 0);
    let ids = KassaIdGenerator::new();
    let purchase = paid(&c, &ids, 6, 10_000).await;

    let mut refund = purchase
        .refund(&ids.next_id(), Amount::from_minor(6_000))
        .await
        .unwrap();
    assert_eq!(
        refund.wait_for_status(WAIT).await.unwrap(),
        RefundOutcome::Refunded
    );
    assert_eq!(refund.confirm().await.unwrap(), Some(RefundStatus::Success));

    let over = purchase
        .refund(&ids.next_id(), Amount::from_minor(4_001))
        .await
        .unwrap_err();
    assert_eq!(
        over.provider().and_then(|p| p.code()).map(String::as_str),
        Some("refund_exceeds_purchase"),
        "{over}"
    );
    assert!(!over.is_retryable());

    let mut rest = purchase
        .refund(&ids.next_id(), Amount::from_minor(4_000))
        .await
        .unwrap();
    rest.wait_for_status(WAIT).await.unwrap();
    rest.confirm().await.unwrap();
    let p = e.purchase(purchase.purchase_id()).unwrap();
    assert_eq!(p.refunded, 10_000);
    assert_eq!(
        c.purchase_status(purchase.purchase_id())
            .await
            .unwrap()
            .refunded_amount,
        Some(Amount::from_minor(10_000))
    );
    assert_eq!(e.refunds().len(), 2);
    let again = purchase
        .refund(&ids.next_id(), Amount::from_minor(1))
        .await
        .unwrap_err();
    assert_eq!(
        again.provider().and_then(|p| p.code()).map(String::as_str),
        Some("refund_exceeds_purchase")
    );
}

#[tokio::test]
async fn refund_of_an_unsuccessful_purchase_is_refused_and_refunds_can_be_cancelled() {
    let e = emulator().await;
    let c = client(&e, 0);
    let ids = KassaIdGenerator::new();
    let committed = c.commit_code(&qr(7), &ids.next_id()).await.unwrap();
    let err = c
        .refund(
            committed.purchase_id(),
            &ids.next_id(),
            Amount::from_minor(1),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("purchase_not_successful")
    );

    let purchase = paid(&c, &ids, 8, 5_000).await;
    e.set_refund_outcome(Outcome::Slow);
    let refund = purchase
        .refund(&ids.next_id(), Amount::from_minor(5_000))
        .await
        .unwrap();
    let refund_id = refund.refund_id().to_owned();
    assert_eq!(
        refund.cancel().await.unwrap(),
        Some(RefundStatus::Cancelled)
    );
    assert_eq!(e.refunds()[0].refund_id, refund_id);
    assert_eq!(e.refunds()[0].status, "cancelled");
    // The cancelled refund frees the amount again.
    e.set_refund_outcome(Outcome::Decline);
    let mut declined = purchase
        .refund(&ids.next_id(), Amount::from_minor(5_000))
        .await
        .unwrap();
    assert_eq!(
        declined.wait_for_status(WAIT).await.unwrap(),
        RefundOutcome::NotRefunded {
            status: RefundStatus::Declined,
            reason: Some("refund declined (sandbox)".into())
        }
    );
    assert!(matches!(
        declined.confirm().await,
        Err(Error::RefundNotSuccessful { .. })
    ));
}

#[tokio::test]
async fn the_same_qr_at_two_kassas_is_refused() {
    let e = emulator().await;
    let a = client(&e, 0);
    let b = client(&e, 1);
    let ids = KassaIdGenerator::new();
    let code = qr(9);
    let kassa_a_id = ids.next_id();
    let first = a.commit_code(&code, &kassa_a_id).await.unwrap();
    let err = b.commit_code(&code, &ids.next_id()).await.unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("code_already_committed"),
        "{err}"
    );
    // The same commit repeated at the same kassa is the same purchase.
    let again = a.commit_code(&code, &kassa_a_id).await.unwrap();
    assert_eq!(again.purchase_id(), first.purchase_id());
    // Kassa B cannot see kassa A's purchase.
    let err = b.purchase_status(first.purchase_id()).await.unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("purchase_not_found")
    );
    assert_eq!(e.purchases().len(), 1);
}

#[tokio::test]
async fn concurrent_purchases() {
    let e = emulator().await;
    let c = client(&e, 0);
    let ids = Arc::new(KassaIdGenerator::new());
    let tasks: Vec<_> = (0..8u32)
        .map(|n| {
            let c = c.clone();
            let ids = ids.clone();
            tokio::spawn(async move { paid(&c, &ids, 100 + n, 1_000 + u64::from(n)).await })
        })
        .collect();
    let mut purchase_ids = Vec::new();
    for t in tasks {
        purchase_ids.push(t.await.unwrap().purchase_id().to_owned());
    }
    purchase_ids.sort();
    purchase_ids.dedup();
    assert_eq!(purchase_ids.len(), 8);
    let all = e.purchases();
    assert_eq!(all.len(), 8);
    assert!(all
        .iter()
        .all(|p| p.status == "success" && p.release_calls == 1));
    let mut kassa_ids: Vec<_> = all.iter().map(|p| p.kassa_purchase_id.clone()).collect();
    kassa_ids.sort();
    kassa_ids.dedup();
    assert_eq!(kassa_ids.len(), 8);
    assert_eq!(e.auth_calls(), 1);
}

#[tokio::test]
async fn error_answers_and_raw_operations() {
    let e = emulator().await;
    let c = client(&e, 0);
    let answers = c.error_answers().await.unwrap();
    assert!(answers
        .errors
        .iter()
        .any(|a| a.code == "code_already_committed" && a.http_status == Some(409)));
    let err = c.purchase_status("p-missing").await.unwrap_err();
    assert_eq!(
        err.provider().and_then(|p| p.code()).map(String::as_str),
        Some("purchase_not_found")
    );
    // Request builders name missing fields.
    let missing = smartpay::ReleaseRequest::builder()
        .purchase_id("p-1")
        .build()
        .unwrap_err();
    assert!(missing.is_about("amount"), "{missing}");
    let auth = c.auth().await.unwrap();
    assert_eq!(auth.kassa_id.as_deref(), Some("kassa-0001"));
}
