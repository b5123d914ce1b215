//! Notification delivery to the merchant's NotificationURL, retried until it answers `OK`.
//! The `OK` is what confirms a pending transfer; a round that ends without one resolves it to
//! the configured unacknowledged status instead.

use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode, Uri};
use payments_core::{Operation, Request};
use serde_json::{json, Value};

use super::wire::token;
use super::{Delivery, Shared, Status, TransferState};

const NOTIFY: Operation = Operation::not_idempotent("kupikupi-sandbox", "notification");

/// The notification body of a transfer.
pub(crate) fn body(shared: &Shared, t: &TransferState) -> Value {
    let notified = t.notified_status();
    let (status, code, message) = match notified {
        Status::Confirmed => (true, "0", None),
        Status::Rejected => (false, "11", Some("not enough points")),
        Status::Canceled => (false, "12", Some("the transfer was canceled")),
        Status::New | Status::FormShowed => (false, "0", None),
    };
    let mut v = json!({
        "status": status,
        "transferStatus": notified.as_str(),
        "errorCode": code,
        "uidPlatform": shared.config.platform_uid,
        "orderId": t.order_id,
    });
    if let (Some(m), Value::Object(map)) = (message, &mut v) {
        map.insert("message".into(), Value::String(m.into()));
    }
    if shared.config.sign_notifications {
        if let Value::Object(map) = &mut v {
            let t = token(map, &shared.config.secret_key);
            map.insert("token".into(), Value::String(t));
        }
    }
    v
}

/// Starts a delivery round for the transfer of `order_id` (if a NotificationURL is set).
pub(crate) fn schedule(shared: &Arc<Shared>, order_id: String) {
    let Some(url) = shared.config.notification_url.clone() else {
        return;
    };
    let s = Arc::clone(shared);
    shared.spawn(async move { deliver(s, url, order_id).await });
}

fn is_ok_answer(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK && body.trim_ascii() == b"OK"
}

async fn deliver(shared: Arc<Shared>, url: String, order_id: String) {
    let mut stop = shared.stop.clone();
    let uri: Uri = match url.parse() {
        Ok(u) => u,
        Err(_) => {
            tracing::warn!("the notification URL is not a valid URL");
            return;
        }
    };
    let max = shared.config.max_attempts.max(1);
    for attempt in 1..=max {
        if *stop.borrow() {
            return;
        }
        let Some(snapshot) = shared.book().transfers.get(&order_id).cloned() else {
            return;
        };
        let payload = match serde_json::to_vec(&body(&shared, &snapshot)) {
            Ok(p) => Bytes::from(p),
            Err(_) => return,
        };
        let request = Request::new(Method::POST, uri.clone())
            .with_body(payload)
            .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let outcome = tokio::select! {
            r = shared.notifier.execute(&NOTIFY, request) => r,
            _ = stop.changed() => return,
        };
        let (http_status, acknowledged) = match &outcome {
            Ok(resp) => (
                Some(resp.status.as_u16()),
                is_ok_answer(resp.status, &resp.body),
            ),
            Err(_) => (None, false),
        };
        let last = acknowledged || attempt == max;
        {
            let mut book = shared.book();
            if let Some(t) = book.transfers.get_mut(&order_id) {
                t.deliveries.push(Delivery {
                    attempt,
                    http_status,
                    acknowledged,
                });
                t.acknowledged |= acknowledged;
                if acknowledged {
                    // The guide: CONFIRMED once the service has received OK.
                    if let Some(pending) = t.pending.take() {
                        t.status = pending;
                    }
                } else if last && t.pending.take().is_some() {
                    t.status = shared.config.unacknowledged_status;
                    tracing::warn!(
                        order_id = %order_id,
                        status = t.status.as_str(),
                        "kupikupi sandbox: the merchant never answered OK; the transfer is not confirmed"
                    );
                }
            }
            if last {
                book.finish(&order_id, shared.config.max_finished);
            }
        }
        shared.changed.notify_waiters();
        if last {
            return;
        }
        let delay = shared.scale.scale(
            shared
                .config
                .delay(usize::try_from(attempt - 1).unwrap_or(usize::MAX)),
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_200_ok_acknowledges() {
        assert!(is_ok_answer(StatusCode::OK, b"OK"));
        assert!(is_ok_answer(StatusCode::OK, b" OK\r\n"));
        assert!(!is_ok_answer(StatusCode::OK, b"ok"));
        assert!(!is_ok_answer(StatusCode::OK, b"OKAY"));
        assert!(!is_ok_answer(StatusCode::OK, b""));
        assert!(!is_ok_answer(StatusCode::CREATED, b"OK"));
        assert!(!is_ok_answer(StatusCode::INTERNAL_SERVER_ERROR, b"OK"));
    }
}
