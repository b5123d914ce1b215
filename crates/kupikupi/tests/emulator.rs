//! The client against the sandbox emulator: every method, the test phones, the form, and the
//! refusals.

mod common;

use common::*;
use kupikupi::{
    ConfirmationCode, Discount, Error, FiscalDocumentNumber, FiscalDriveNumber, FiscalSign,
    OrderId, PayDate, Phone, Receipt, ReceiptType, TransferAmount, TransferStatus,
};
use payments_sandbox::kupikupi::{Config, Status};

fn phone(p: &str) -> Phone {
    Phone::new(p).unwrap()
}

fn amount(k: u64) -> TransferAmount {
    TransferAmount::from_minor(k).unwrap()
}

#[tokio::test]
async fn balances_of_the_test_phones() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let b = client.balance(&phone(CONFIRMED_PHONE)).await.unwrap();
    assert_eq!(b.to_string(), "1000000.00");
    assert_eq!(b.minor(), 100_000_000);
    assert!(client
        .balance(&phone(REJECTED_PHONE))
        .await
        .unwrap()
        .is_zero());
    assert!(client
        .balance(&phone(CANCELED_PHONE))
        .await
        .unwrap()
        .is_zero());
    let err = client.balance(&phone("79991234567")).await.unwrap_err();
    let p = err.provider().expect("a provider refusal");
    assert_eq!(p.code.as_deref(), Some("4"));
    assert!(p.message().contains("unknown phone"));
    assert!(!err.is_retryable());
    emu.shutdown().await;
}

#[tokio::test]
async fn each_phone_through_the_form_to_its_final_status() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let browser = browser();
    for (i, (p, want)) in [
        (CONFIRMED_PHONE, TransferStatus::Confirmed),
        (REJECTED_PHONE, TransferStatus::Rejected),
        (CANCELED_PHONE, TransferStatus::Canceled),
    ]
    .into_iter()
    .enumerate()
    {
        let order = OrderId::new(format!("order-{i}")).unwrap();
        let t = client
            .init(&phone(p), &order, amount(25_000))
            .await
            .unwrap();
        assert_eq!(t.order_id, order);
        assert_eq!(t.amount.minor(), 25_000);
        let url = t.transfer_url.to_string();
        assert!(url.starts_with(emu.root_url()), "{url}");

        let c = client.checkout(&order, amount(25_000)).await.unwrap();
        assert_eq!(c.transfer_status, TransferStatus::New);
        assert_eq!(c.payment_id, t.payment_id);

        // Confirming before the form is open is refused.
        let (status, _) = submit_code(&browser, &url, emu.confirmation_code()).await;
        assert_eq!(status, 409);

        let (status, page) = open_form(&browser, &url).await;
        assert_eq!(status, 200);
        assert!(page.contains("FORM_SHOWED"));
        let c = client.checkout(&order, amount(25_000)).await.unwrap();
        assert_eq!(c.transfer_status, TransferStatus::FormShowed);
        assert!(!c.transfer_status.is_final());

        let (status, _) = submit_code(&browser, &url, "wrong").await;
        assert_eq!(status, 400);
        assert_eq!(
            emu.transfer(order.as_str()).unwrap().status,
            Status::FormShowed
        );

        let (status, page) = submit_code(&browser, &url, emu.confirmation_code()).await;
        assert_eq!(status, 200);
        assert!(page.contains(want.as_str()));
        let c = client.checkout(&order, amount(25_000)).await.unwrap();
        assert_eq!(c.transfer_status, want);
        assert!(c.transfer_status.is_final());
        assert_eq!(c.order_id.as_ref(), Some(&order));
    }
    assert_eq!(emu.transfers().len(), 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_token_and_wrong_platform_are_refused() {
    let emu = emulator(Config::default()).await;
    let wrong_key = client_with(&emu, emu.platform_uid(), "not-the-key");
    let err = wrong_key
        .balance(&phone(CONFIRMED_PHONE))
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("3"));
    assert!(matches!(err, Error::Provider(_)));
    // The refusal does not echo the key.
    assert!(!format!("{err} {err:?}").contains("not-the-key"));

    let wrong_uid = client_with(&emu, "SomeoneElse", emu.secret_key());
    let err = wrong_uid
        .init(
            &phone(CONFIRMED_PHONE),
            &OrderId::new("x").unwrap(),
            amount(1),
        )
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("2"));
    assert!(emu.transfers().is_empty());
    assert_eq!(emu.rejected_requests(), 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_get_the_provider_error_shape() {
    let emu = emulator(Config::default()).await;
    let browser = browser();
    let url = format!("{}/balance", emu.base_url());
    for body in [
        &b"not json"[..],
        b"[1,2]",
        b"{}",
        b"{\"platformUid\":\"M2hULcD58iYGkmS7\"}",
    ] {
        let (status, json) = post_raw(&browser, &url, body).await;
        assert_eq!(status, 400);
        assert_eq!(json["status"], false);
        assert_eq!(json["errorCode"], "1");
        assert!(json["message"].is_string());
    }
    let (status, json) = post_raw(&browser, &format!("{}/nope", emu.base_url()), "{}").await;
    assert_eq!(status, 404);
    assert_eq!(json["errorCode"], "10");
    emu.shutdown().await;
}

#[tokio::test]
async fn init_with_the_same_order_id_is_safe_to_repeat() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let order = OrderId::new("retry-1").unwrap();
    let first = client
        .init(&phone(CONFIRMED_PHONE), &order, amount(500))
        .await
        .unwrap();
    let again = client
        .init(&phone(CONFIRMED_PHONE), &order, amount(500))
        .await
        .unwrap();
    assert_eq!(first, again);
    let err = client
        .init(&phone(CONFIRMED_PHONE), &order, amount(501))
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("5"));
    let err = client.checkout(&order, amount(501)).await.unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("7"));
    let err = client
        .checkout(&OrderId::new("missing").unwrap(), amount(1))
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("6"));
    assert_eq!(emu.transfers().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn confirmation_by_code() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let order = OrderId::new("by-code").unwrap();
    client
        .init(&phone(REJECTED_PHONE), &order, amount(700))
        .await
        .unwrap();
    let err = client
        .confirmation(
            &phone(REJECTED_PHONE),
            &ConfirmationCode::new("9999").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("8"));
    let code = ConfirmationCode::new(emu.confirmation_code()).unwrap();
    let c = client
        .confirmation(&phone(REJECTED_PHONE), &code)
        .await
        .unwrap();
    assert_eq!(c.transfer_status, Some(TransferStatus::Rejected));
    assert_eq!(c.order_id, Some(order.clone()));
    // Nothing is open any more.
    let err = client
        .confirmation(&phone(REJECTED_PHONE), &code)
        .await
        .unwrap_err();
    assert_eq!(err.provider().unwrap().code.as_deref(), Some("9"));
    assert_eq!(emu.transfer("by-code").unwrap().status, Status::Rejected);
    emu.shutdown().await;
}

#[tokio::test]
async fn receipt_with_every_fiscal_field() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    let receipt = Receipt {
        phone: phone(CONFIRMED_PHONE),
        amount: amount(123_456),
        fiscal_drive: FiscalDriveNumber::new("9999078900012345").unwrap(),
        fiscal_document: FiscalDocumentNumber::new("1234").unwrap(),
        fiscal_sign: FiscalSign::new("0987654321").unwrap(),
        pay_date: PayDate::parse("05.03.2023 14:07:09").unwrap(),
        receipt_type: ReceiptType::Income,
        discount: Discount::new(payments_core::Amount::from_minor(500)).unwrap(),
    };
    client.receipt(&receipt).await.unwrap();
    let stored = emu.receipts();
    assert_eq!(stored.len(), 1);
    let r = &stored[0];
    assert_eq!(r.phone, 79_000_000_001);
    assert_eq!(r.amount, 123_456);
    assert_eq!(r.fiscal_drive, "9999078900012345");
    assert_eq!(r.fiscal_document, "1234");
    assert_eq!(r.fiscal_sign, "0987654321");
    assert_eq!(r.pay_date, "05.03.2023 14:07:09");
    assert_eq!(r.receipt_type, 1);
    assert_eq!(r.discount, 500);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_never_sent_and_is_retryable() {
    let emu = emulator(Config::default()).await;
    let client = client_for(&emu);
    emu.shutdown().await;
    let err = client.balance(&phone(CONFIRMED_PHONE)).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.may_have_been_sent());
}

#[tokio::test]
async fn the_emulator_accepts_strings_for_numbers_and_uid_platform() {
    let emu = emulator(Config::default()).await;
    let mut params = serde_json::json!({
        "uidPlatform": emu.platform_uid(), "phone": "79000000001", "orderId": 77, "amount": "1500",
    });
    let t =
        kupikupi::token_of_value(&params, &payments_core::Secret::from(emu.secret_key())).unwrap();
    params["token"] = serde_json::Value::String(t.as_str().to_owned());
    let body = serde_json::to_vec(&params).unwrap();
    let (status, json) = post_raw(&browser(), &format!("{}/init", emu.base_url()), body).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["status"], true);
    assert_eq!(json["errorCode"], "0");
    let t = emu.transfer("77").unwrap();
    assert_eq!((t.phone, t.amount), (79_000_000_001, 1500));
    emu.shutdown().await;
}
