//! The sandbox's human pages in headless Chromium: a person pays on the Ktpay card page and is
//! sent to the shop's success URL, then confirms a Kupi-Kupi transfer with the SMS code; the
//! merchant receives, checks and acknowledges the callback and the notification.
//!
//! `UPDATE_SCREENSHOTS=1 cargo test -p payments-e2e --test pages_browser` refreshes the
//! screenshots in `docs/img/` that the README shows.

use std::sync::Arc;
use std::time::Duration;

use payments_cli::demo::flows::Demo;
use payments_e2e::webdriver::{browser_or_skip, Browser};
use payments_sandbox::ktwidget::{Delivery, CARD_SUCCESS};

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/img")
            .join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

async fn wait_for_source(browser: &Browser, needle: &str) -> String {
    for _ in 0..200 {
        let source = browser.source().await.unwrap();
        if source.contains(needle) {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_pays_on_the_card_page_and_confirms_a_transfer() {
    if !browser_or_skip() {
        return;
    }
    let demo = Arc::new(Demo::start(0.001).await.unwrap());
    let m = &demo.merchant;
    let browser = Browser::start().await.unwrap();

    // Ktpay: the shop creates the payment and sends the customer to the card page.
    let order_id = demo.order_id("browser");
    let amount: payments_core::Amount = "12990".parse().unwrap();
    let order = ktwidget::Order::builder(order_id.as_str(), amount)
        .description("Wireless headphones")
        .callback_post_url(m.ktwidget_callback_url())
        .callback_force_success_url(m.success_url())
        .callback_force_failed_url(m.failed_url())
        .build()
        .unwrap();
    m.expect_ktwidget(&order_id, amount);
    let created = demo.ktwidget.create_payment(&order).await.unwrap();
    m.ktwidget_created(&order_id, &created.transaction_hash);
    browser.goto(created.widget_url.as_str()).await.unwrap();
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("<form") && !page.contains("<script"),
        "{page}"
    );
    screenshot(&browser, "ktwidget-card-page.png").await;

    browser
        .type_into("#card_number", CARD_SUCCESS)
        .await
        .unwrap();
    browser.type_into("#expiry", "12/30").await.unwrap();
    browser.type_into("#cvc", "123").await.unwrap();
    browser.click("#pay").await.unwrap();
    let url = browser
        .wait_for_url(Duration::from_secs(20), |u| u.contains("/shop/"))
        .await
        .unwrap();
    assert_eq!(
        url,
        m.success_url(),
        "redirected to the merchant's success URL"
    );
    assert!(browser.source().await.unwrap().contains("Thank you"));

    let received = m
        .wait_ktwidget(&order_id, Duration::from_secs(20), |r| r.acknowledged >= 1)
        .await
        .expect("the callback was delivered");
    assert_eq!(received.status.as_deref(), Some("completed"));
    assert_eq!((received.applied, received.invalid), (1, 0));
    let payment = demo
        .sandbox
        .ktwidget()
        .payment(created.transaction_hash.as_str())
        .unwrap();
    assert_eq!(payment.status, "completed");
    assert_eq!(payment.card.as_deref(), Some(CARD_SUCCESS));
    assert_eq!(payment.delivery, Delivery::Acknowledged);

    // Kupi-Kupi: the shop starts a transfer and sends the customer to the transfer form.
    let phone = kupikupi::Phone::new("79000000001").unwrap();
    let kk_order_id = demo.order_id("browser-kk");
    let kk_order = kupikupi::OrderId::new(kk_order_id.as_str()).unwrap();
    let kk_amount = kupikupi::TransferAmount::from_minor(49_900).unwrap();
    m.expect_kupikupi(&kk_order_id, kk_amount);
    let transfer = demo
        .kupikupi
        .init(&phone, &kk_order, kk_amount)
        .await
        .unwrap();
    browser
        .goto(&transfer.transfer_url.to_string())
        .await
        .unwrap();
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("<form") && !page.contains("<script"),
        "{page}"
    );
    assert!(page.contains("FORM_SHOWED"));
    screenshot(&browser, "kupikupi-transfer-form.png").await;

    // A wrong code shows the form again; the right one confirms.
    browser.type_into("#code", "0000").await.unwrap();
    browser.click("#confirm").await.unwrap();
    wait_for_source(&browser, "Wrong code").await;
    let code = demo.sandbox.kupikupi().confirmation_code().to_owned();
    browser.type_into("#code", &code).await.unwrap();
    browser.click("#confirm").await.unwrap();
    // The transfer waits for the shop's OK to the notification before it is CONFIRMED.
    wait_for_source(&browser, "Transfer sent to the shop").await;

    let received = m
        .wait_kupikupi(&kk_order_id, Duration::from_secs(20), |r| {
            r.status.is_some()
        })
        .await
        .expect("the notification was delivered and confirmed with checkout");
    assert_eq!(received.status.as_deref(), Some("CONFIRMED"));
    assert!(received.credited);
    assert_eq!((received.applied, received.invalid), (1, 0));
    let t = demo
        .sandbox
        .kupikupi()
        .wait_for(&kk_order_id, Duration::from_secs(20), |t| t.acknowledged)
        .await
        .unwrap();
    assert!(t.acknowledged);
    assert_eq!(t.status, payments_sandbox::kupikupi::Status::Confirmed);

    browser.quit().await;
    if let Ok(demo) = Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
}
