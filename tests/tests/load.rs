//! Load: 1,200 concurrent flows mixed across the three providers against one sandbox. Every
//! flow reaches its expected final state; every Ktpay callback and Kupi-Kupi notification is
//! applied exactly once by the merchant (duplicates, forced afterwards, are harmless); nothing
//! is lost. Bounded by count (1,200 flows) and time (a deadline).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use payments_cli::demo::flows::{catalog, Demo};
use payments_cli::demo::runner::Steps;
use payments_sandbox::ktwidget::Delivery;

const FLOWS: usize = 1_200;
const DEADLINE: Duration = Duration::from_secs(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_hundred_concurrent_flows_on_one_sandbox() {
    let demo = Arc::new(Demo::start(0.001).await.unwrap());
    let specs = catalog();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..FLOWS {
        let spec = specs[i % specs.len()];
        let demo = demo.clone();
        tasks.spawn(async move {
            let steps = Steps::silent(spec.name);
            let result = (spec.run)(demo, steps.clone()).await;
            (spec, steps.current(), result)
        });
    }
    let mut by_flow: HashMap<&str, usize> = HashMap::new();
    let all = tokio::time::timeout(DEADLINE, async {
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            let (spec, step, result) = joined.unwrap();
            match result {
                Ok(observed) => assert_eq!(
                    observed, spec.expected,
                    "{} / {} diverged at {step}",
                    spec.provider, spec.name
                ),
                Err(e) => panic!("{} / {} failed at {step}: {e}", spec.provider, spec.name),
            }
            *by_flow.entry(spec.name).or_default() += 1;
            done += 1;
        }
        done
    })
    .await
    .expect("the flows finish before the deadline");
    assert_eq!(all, FLOWS);
    assert_eq!(by_flow.len(), specs.len(), "every kind of flow ran");

    // Ktpay: every payment is final and its callback acknowledged; the merchant applied each
    // exactly once, verified every one, and lost none.
    let payments = demo.sandbox.ktwidget().payments();
    let kt_flows = specs.iter().filter(|s| s.provider == "ktwidget").count();
    let expected_kt = (0..FLOWS)
        .filter(|i| specs[i % specs.len()].provider == "ktwidget")
        .count();
    assert!(kt_flows > 0);
    assert_eq!(payments.len(), expected_kt);
    let merchant_kt = demo.merchant.ktwidget_all();
    for p in &payments {
        assert!(p.is_final(), "{p:?}");
        assert_eq!(p.delivery, Delivery::Acknowledged, "{p:?}");
        let r = &merchant_kt[&p.order_id];
        // The forged-callback flow sends two forgeries, which the merchant refuses (403).
        let forged = if p.order_id.starts_with("kt-forged-") {
            2
        } else {
            0
        };
        assert_eq!(
            (r.acknowledged, r.applied, r.invalid),
            (1, 1, forged),
            "{r:?}"
        );
        assert_eq!(r.status.as_deref(), Some(p.status.as_str()));
        assert_eq!(r.deliveries, r.acknowledged + r.refused + forged);
    }
    assert_eq!(merchant_kt.len(), payments.len(), "nothing unknown arrived");

    // Kupi-Kupi: the same for notifications, each confirmed with checkout; the forged ones
    // (answered OK: they look like any other) are never credited.
    let all_transfers = demo.sandbox.kupikupi().transfers();
    let merchant_kk = demo.merchant.kupikupi_all();
    assert_eq!(merchant_kk.len(), all_transfers.len());
    let (forged, transfers): (Vec<_>, Vec<_>) = all_transfers
        .into_iter()
        .partition(|t| t.order_id.starts_with("kk-forged-"));
    assert!(!forged.is_empty());
    for t in &forged {
        assert!(!t.status.is_final() && !t.acknowledged, "{t:?}");
        let r = &merchant_kk[&t.order_id];
        assert!(
            !r.credited && r.status.is_none() && r.unresolved == 1,
            "{r:?}"
        );
    }
    for t in &transfers {
        assert!(t.status.is_final() && t.acknowledged, "{t:?}");
        let r = &merchant_kk[&t.order_id];
        assert_eq!((r.acknowledged, r.applied, r.invalid), (1, 1, 0), "{r:?}");
        assert_eq!(r.status.as_deref(), Some(t.status.as_str()));
        assert_eq!(r.credited, t.status.as_str() == "CONFIRMED", "{r:?}");
    }

    // Smart Pay: every purchase is final (no callbacks: the kassa polls).
    let purchases = demo.sandbox.smartpay().purchases();
    assert!(purchases
        .iter()
        .all(|p| p.status == "success" || p.status == "cancelled"));

    // Duplicates are harmless: the provider delivers every notification again; the merchant
    // acknowledges each again and applies none twice.
    for t in &transfers {
        assert!(demo.sandbox.kupikupi().redeliver(&t.order_id));
    }
    for t in &transfers {
        let r = demo
            .merchant
            .wait_kupikupi(&t.order_id, Duration::from_secs(20), |r| {
                r.acknowledged == 2
            })
            .await
            .expect("the duplicate arrives");
        assert_eq!(r.applied, 1, "{r:?}");
    }
}
