//! The demo's flows as tests: each flow of `payments demo` on its own sandbox, and all of them
//! at once on one sandbox.

use std::sync::Arc;

use payments_cli::demo::flows::{catalog, Demo};
use payments_cli::demo::runner::Steps;

async fn run_one(provider: &str, name: &str) {
    let spec = catalog()
        .into_iter()
        .find(|s| s.provider == provider && s.name == name)
        .unwrap_or_else(|| panic!("no flow {provider} / {name}"));
    let demo = Arc::new(Demo::start(0.001).await.unwrap());
    let steps = Steps::silent(name);
    let observed = (spec.run)(demo.clone(), steps.clone())
        .await
        .unwrap_or_else(|e| panic!("{provider} / {name} failed at {:?}: {e}", steps.current()));
    assert_eq!(observed, spec.expected, "{provider} / {name}");
    if let Ok(demo) = Arc::try_unwrap(demo) {
        demo.shutdown().await;
    }
}

macro_rules! flow_tests {
    ($($test:ident => ($provider:literal, $name:literal),)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                run_one($provider, $name).await;
            }
        )*

        #[test]
        fn every_flow_of_the_catalogue_has_a_test() {
            let tested = [$(($provider, $name)),*];
            for spec in catalog() {
                assert!(
                    tested.contains(&(spec.provider, spec.name)),
                    "no test for {} / {}",
                    spec.provider,
                    spec.name
                );
            }
            assert_eq!(tested.len(), catalog().len());
        }
    };
}

flow_tests! {
    ktwidget_ecom_payment_and_callback => ("ktwidget", "ecom payment + callback"),
    ktwidget_service_payment => ("ktwidget", "service payment"),
    ktwidget_declined_card => ("ktwidget", "declined card"),
    ktwidget_callback_after_merchant_failure => ("ktwidget", "callback after merchant failure"),
    ktwidget_forged_callback => ("ktwidget", "forged callback"),
    ktwidget_refund => ("ktwidget", "refund"),
    smartpay_purchase_and_fiscal_receipt => ("smartpay", "QR purchase + fiscal receipt"),
    smartpay_refund_with_confirmation => ("smartpay", "refund with confirmation"),
    smartpay_cancelled_purchase => ("smartpay", "cancelled purchase"),
    smartpay_plain_http_with_a_client_certificate => ("smartpay", "plain http with a client certificate"),
    kupikupi_balance => ("kupikupi", "balance"),
    kupikupi_transfer_confirmed => ("kupikupi", "transfer 79000000001"),
    kupikupi_transfer_rejected => ("kupikupi", "transfer 79000000002"),
    kupikupi_transfer_canceled => ("kupikupi", "transfer 79000000003"),
    kupikupi_forged_notification => ("kupikupi", "forged notification"),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_demo_on_one_sandbox_with_its_states() {
    let demo = Arc::new(Demo::start(0.001).await.unwrap());
    let flows = payments_cli::demo::flows::flows(&demo);
    let display = payments_cli::demo::runner::Display {
        spinners: false,
        color: false,
    };
    let rows = payments_cli::demo::runner::run_all(flows, display).await;
    for r in &rows {
        assert!(r.ok, "{r:?}");
    }
    // The providers' side agrees with what the flows observed.
    let kt = demo.sandbox.ktwidget().payments();
    assert_eq!(kt.len(), 6);
    for p in &kt {
        assert!(p.is_final(), "{p:?}");
        assert_eq!(
            p.delivery,
            payments_sandbox::ktwidget::Delivery::Acknowledged
        );
    }
    let kk = demo.sandbox.kupikupi().transfers();
    assert_eq!(kk.len(), 4);
    for t in &kk {
        let r = demo.merchant.kupikupi(&t.order_id).unwrap();
        if t.order_id.starts_with("kk-forged-") {
            // The forged notification's transfer: never paid, never credited.
            assert!(!t.status.is_final() && !t.acknowledged, "{t:?}");
            assert!(
                !r.credited && r.status.is_none() && r.unresolved == 1,
                "{r:?}"
            );
        } else {
            assert!(t.status.is_final() && t.acknowledged, "{t:?}");
            assert_eq!(r.status.as_deref(), Some(t.status.as_str()), "{r:?}");
            assert_eq!(r.credited, t.status.as_str() == "CONFIRMED", "{r:?}");
        }
    }
    let sp = demo.sandbox.smartpay().purchases();
    assert_eq!(sp.len(), 3);
    assert_eq!(sp.iter().filter(|p| p.status == "cancelled").count(), 1);
    assert_eq!(demo.sandbox.smartpay().receipts().len(), 1);
    assert_eq!(demo.sandbox.smartpay().refunds().len(), 1);
}
