//! Callback delivery: POST the transaction to the merchant on a final status, and repeat on the
//! (scaled) schedule until the merchant answers HTTP 200 with `{"status":"ok"}`. The URL is
//! used exactly as given (a merchant may put a per-order secret in its path or query), and only
//! if its host is loopback or non-loopback delivery is allowed.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE};
use http::Method;
use payments_core::{Operation, Request};

use super::wire::transaction_json;
use super::{AttemptOutcome, CallbackAttempt, Delivery, Shared};
use crate::target;

const CALLBACK: Operation = Operation::not_idempotent("ktwidget-sandbox", "callback");

/// Starts delivering the callback of a payment that reached a final status.
pub(crate) fn schedule(shared: &Arc<Shared>, hash: &str) {
    let url = {
        let mut state = shared.lock();
        let Some(p) = state.payments.get_mut(hash) else {
            return;
        };
        if !p.is_final() || p.delivery != Delivery::NotDue {
            return;
        }
        let url = p
            .urls
            .get("callback_post_url")
            .cloned()
            .or_else(|| shared.config.default_callback_url.clone());
        let Some(url) = url else {
            p.delivery = Delivery::NoUrl;
            state.finish(hash, shared.config.max_finished);
            return;
        };
        if let Err(refused) = target::check(&url, shared.config.allow_non_loopback_delivery) {
            tracing::warn!(
                order_id = %p.order_id,
                reason = %refused,
                "ktwidget sandbox: the callback is not sent"
            );
            p.delivery = Delivery::Refused(refused);
            state.finish(hash, shared.config.max_finished);
            return;
        }
        p.delivery = Delivery::InProgress;
        url
    };
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        finish(shared, hash, Delivery::GaveUp);
        return;
    };
    let shared = shared.clone();
    let hash = hash.to_owned();
    handle.spawn(async move { deliver(shared, hash, url).await });
}

/// Sets the final delivery state of a payment, which is then finished.
fn finish(shared: &Shared, hash: &str, d: Delivery) {
    let mut state = shared.lock();
    if let Some(p) = state.payments.get_mut(hash) {
        p.delivery = d;
        state.finish(hash, shared.config.max_finished);
    }
}

async fn deliver(shared: Arc<Shared>, hash: String, url: String) {
    let delays = std::iter::once(Duration::ZERO).chain(
        shared
            .config
            .callback_schedule
            .iter()
            .map(|d| shared.scale.scale(*d)),
    );
    let mut stop = shared.stop.subscribe();
    for (i, delay) in delays.enumerate() {
        if !delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let body = {
            let state = shared.lock();
            let Some(p) = state.payments.get(&hash) else {
                return;
            };
            transaction_json(&shared, p)
        };
        let outcome = post(&shared, &url, body).await;
        let acked = outcome == AttemptOutcome::Acknowledged;
        if let Some(p) = shared.lock().payments.get_mut(&hash) {
            p.attempts.push(CallbackAttempt {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                url: url.clone(),
                delay,
                outcome,
            });
        }
        if acked {
            finish(&shared, &hash, Delivery::Acknowledged);
            return;
        }
    }
    finish(&shared, &hash, Delivery::GaveUp);
}

async fn post(shared: &Shared, url: &str, body: String) -> AttemptOutcome {
    let uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return AttemptOutcome::Failed(format!("invalid URL: {e}")),
    };
    let req = Request::new(Method::POST, uri)
        .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .with_body(body);
    match shared.http.execute(&CALLBACK, req).await {
        Ok(resp) => {
            let ok = resp.status == http::StatusCode::OK
                && serde_json::from_slice::<serde_json::Value>(&resp.body)
                    .ok()
                    .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(|s| s == "ok"))
                    .unwrap_or(false);
            if ok {
                AttemptOutcome::Acknowledged
            } else {
                AttemptOutcome::Refused {
                    status: resp.status.as_u16(),
                    body: String::from_utf8_lossy(&resp.body)
                        .chars()
                        .take(200)
                        .collect(),
                }
            }
        }
        Err(e) => AttemptOutcome::Failed(e.to_string()),
    }
}
