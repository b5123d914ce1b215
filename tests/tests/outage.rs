//! A receiver outage: the merchant's endpoint answers 503 to everything for a while, then
//! recovers. Every Ktpay callback and Kupi-Kupi notification still arrives, through the
//! providers' retry schedules (time-scaled: 15 s becomes 15 ms), and is applied exactly once.

use std::sync::Arc;
use std::time::Duration;

use payments_cli::demo::flows::{catalog, Demo};
use payments_cli::demo::runner::Steps;
use payments_sandbox::ktwidget::{AttemptOutcome, Delivery};

const OUTAGE: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_and_notifications_survive_a_receiver_outage() {
    let demo = Arc::new(Demo::start(0.001).await.unwrap());
    demo.merchant.set_outage(true);
    // Every flow with a callback or a notification, three times over (the "merchant failure"
    // flow is left out: it counts its own attempts; so are the forged callback, whose forgeries
    // must reach the SDK's endpoint to be refused by it, and the forged notification, which the
    // provider never sends).
    let specs: Vec<_> = catalog()
        .into_iter()
        .filter(|s| s.provider != "smartpay" && s.name != "callback after merchant failure")
        .filter(|s| {
            !matches!(
                s.name,
                "balance" | "forged callback" | "forged notification"
            )
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        for spec in &specs {
            let spec = *spec;
            let demo = demo.clone();
            tasks.spawn(async move {
                let steps = Steps::silent(spec.name);
                let result = (spec.run)(demo, steps.clone()).await;
                (spec, steps.current(), result)
            });
        }
    }
    // The flows wait for their callbacks. Keep the outage until the first attempt of every
    // one has been refused (bounded by a deadline), and a while longer for some retries.
    let orders = specs.len() * 3;
    let refused_everywhere = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let kt = demo.merchant.ktwidget_all();
            let kk = demo.merchant.kupikupi_all();
            let refused = kt.values().filter(|r| r.refused >= 1).count()
                + kk.values().filter(|r| r.refused >= 1).count();
            assert!(kt.values().all(|r| r.acknowledged == 0));
            assert!(kk.values().all(|r| r.acknowledged == 0));
            if refused == orders {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        refused_everywhere.is_ok(),
        "every first attempt hit the outage"
    );
    tokio::time::sleep(OUTAGE).await;
    demo.merchant.set_outage(false);

    let mut n = 0;
    tokio::time::timeout(Duration::from_secs(40), async {
        while let Some(joined) = tasks.join_next().await {
            let (spec, step, result) = joined.unwrap();
            match result {
                Ok(observed) => assert_eq!(observed, spec.expected, "{}", spec.name),
                Err(e) => panic!("{} failed at {step}: {e}", spec.name),
            }
            n += 1;
        }
    })
    .await
    .expect("every flow completes after the outage");
    assert_eq!(n, specs.len() * 3);

    for p in demo.sandbox.ktwidget().payments() {
        assert_eq!(p.delivery, Delivery::Acknowledged, "{p:?}");
        assert!(p.attempts.len() >= 2, "{p:?}");
        assert!(matches!(
            p.attempts[0].outcome,
            AttemptOutcome::Refused { status: 503, .. }
        ));
        let r = demo.merchant.ktwidget(&p.order_id).unwrap();
        assert_eq!((r.acknowledged, r.applied), (1, 1), "{r:?}");
        // Every attempt reached the merchant, and none was refused by the SDK's endpoint.
        assert_eq!(r.invalid, 0, "{r:?}");
        assert_eq!(r.deliveries as usize, p.attempts.len());
    }
    for t in demo.sandbox.kupikupi().transfers() {
        assert!(t.acknowledged, "{t:?}");
        assert!(t.deliveries.len() >= 2, "{t:?}");
        assert_eq!(t.deliveries[0].http_status, Some(503));
        let r = demo.merchant.kupikupi(&t.order_id).unwrap();
        assert_eq!((r.acknowledged, r.applied), (1, 1), "{r:?}");
        // Applied from checkout, after the OK, never from the notification.
        assert_eq!(r.status.as_deref(), Some(t.status.as_str()), "{r:?}");
        assert_eq!(r.credited, t.status.as_str() == "CONFIRMED", "{r:?}");
    }
}
