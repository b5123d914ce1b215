//! The widget page (`/payment-card?hash=`), the acquirer's card form, and the state machine a
//! card payment runs through.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{delivery, CardOutcome, Kind, Payment, Shared, TEST_CARDS};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/payment-card", get(page).post(submit))
        .route("/acquirer/card-form", get(page).post(submit))
        .with_state(shared)
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Deserialize)]
struct HashQuery {
    #[serde(default)]
    hash: Option<String>,
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{}</style></head>\n<body><main>\n{}\n</main></body>\n</html>\n",
        esc(title),
        crate::pages::STYLE,
        body
    )
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(layout("Not found", &format!("<p>{}</p>", esc(what)))),
    )
        .into_response()
}

fn form(p: &Payment, message: Option<&str>) -> String {
    let mut cards = String::new();
    for c in TEST_CARDS {
        cards.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>\n",
            c.number,
            esc(c.label)
        ));
    }
    let kind = match &p.kind {
        Kind::Ecom => "ecom".to_owned(),
        Kind::Service {
            service_id,
            contract_value,
        } => format!("service {service_id}, contract {}", esc(contract_value)),
    };
    let close = if p.show_close_button {
        "<button type=\"button\" id=\"close\" aria-label=\"close\" style=\"float:right;width:auto;margin:0;padding:2px 10px;background:#e6e8ec;color:#1d2330\">×</button>"
    } else {
        ""
    };
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "{close}<p class=\"brand\">Ktpay · sandbox</p>\n<h1>Pay {amount} KZT</h1>\n\
         <p class=\"sub\">Order <b>{order}</b> · {kind}{description}</p>\n{error}\n\
         <form method=\"post\" action=\"/payment-card\">\n\
         <input type=\"hidden\" name=\"hash\" value=\"{hash}\">\n\
         <label for=\"card_number\">Card number</label>\n\
         <input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" placeholder=\"4111 1111 1111 1111\" required>\n\
         <label for=\"expiry\">Expiry</label>\n\
         <input id=\"expiry\" name=\"expiry\" placeholder=\"MM/YY\" autocomplete=\"cc-exp\">\n\
         <label for=\"cvc\">CVC</label>\n\
         <input id=\"cvc\" name=\"cvc\" autocomplete=\"cc-csc\" placeholder=\"123\">\n\
         <button id=\"pay\" type=\"submit\">Pay</button>\n</form>\n\
         <div class=\"hint\"><table><caption>Ktpay sandbox test cards (any expiry and CVC)</caption>\n\
         <tr><th>Number</th><th>Outcome</th></tr>\n{cards}</table></div>",
        order = esc(&p.order_id),
        amount = p.amount.to_compact_string(),
        description = p
            .description
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| format!(" · {}", esc(d)))
            .unwrap_or_default(),
        hash = esc(&p.transaction_hash),
    );
    layout("Ktpay sandbox: payment", &body)
}

async fn page(State(shared): State<Arc<Shared>>, Query(q): Query<HashQuery>) -> Response {
    let Some(hash) = q.hash.filter(|h| !h.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Html(layout(
                "Bad request",
                "<p>The hash parameter is required.</p>",
            )),
        )
            .into_response();
    };
    let Some(p) = shared.lock().payments.get(&hash).cloned() else {
        return not_found("Unknown transaction.");
    };
    if p.status != "pending" {
        return result_page(&p);
    }
    Html(form(&p, None)).into_response()
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    hash: String,
    #[serde(default)]
    card_number: String,
}

async fn submit(State(shared): State<Arc<Shared>>, Form(f): Form<PayForm>) -> Response {
    match pay(&shared, &f.hash, &f.card_number) {
        Ok(_) => {
            let Some(p) = shared.lock().payments.get(&f.hash).cloned() else {
                return not_found("Unknown transaction.");
            };
            redirect_or_result(&p)
        }
        Err(PayError::UnknownTransaction) => not_found("Unknown transaction."),
        Err(e) => {
            let Some(p) = shared.lock().payments.get(&f.hash).cloned() else {
                return not_found("Unknown transaction.");
            };
            let status = match e {
                PayError::NotPending(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            if p.status == "pending" {
                (status, Html(form(&p, Some(&e.to_string())))).into_response()
            } else {
                (status, result_page(&p)).into_response()
            }
        }
    }
}

fn succeeded(p: &Payment) -> bool {
    matches!(p.status.as_str(), "success" | "completed")
}

fn redirect_or_result(p: &Payment) -> Response {
    let force = if succeeded(p) {
        p.urls.get("callback_force_success_url")
    } else {
        p.urls.get("callback_force_failed_url")
    }
    .or_else(|| p.urls.get("callback_force_back_url"));
    match force {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url.clone())]).into_response(),
        None => result_page(p),
    }
}

fn result_page(p: &Payment) -> Response {
    let next = if succeeded(p) {
        p.urls.get("callback_success_url")
    } else {
        p.urls.get("callback_failed_url")
    }
    .or_else(|| p.urls.get("callback_back_url"));
    let link = next
        .map(|u| {
            format!(
                "<p><a id=\"continue\" href=\"{}\">Продолжить</a></p>",
                esc(u)
            )
        })
        .unwrap_or_default();
    let error = p
        .error
        .as_ref()
        .map(|(t, m)| format!("<p class=\"error\">{}: {}</p>", esc(t), esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Payment {status}</h1>\n<p class=\"sub\">Order <b>{order}</b> · {amount} KZT</p>\n\
         <p id=\"status\" class=\"status\">{status}</p>\n{error}\n{link}",
        status = esc(&p.status),
        order = esc(&p.order_id),
        amount = p.amount.to_compact_string(),
    );
    Html(layout("Ktpay sandbox: receipt", &body)).into_response()
}

/// Why a card payment was not run.
#[derive(Debug)]
pub(crate) enum PayError {
    UnknownTransaction,
    NotPending(String),
    InvalidCard,
}

impl std::fmt::Display for PayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayError::UnknownTransaction => f.write_str("unknown transaction"),
            PayError::NotPending(s) => write!(f, "the transaction is already {s}"),
            PayError::InvalidCard => {
                f.write_str("Invalid card data: check the number and try again.")
            }
        }
    }
}

enum After {
    Final,
    Accrual { fail: bool },
}

/// Pays a pending payment with a test card: runs the state machine and schedules the callback.
pub(crate) fn pay(shared: &Arc<Shared>, hash: &str, card_number: &str) -> Result<String, PayError> {
    let number: String = card_number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let now = shared.now();
    let mut state = shared.lock();
    let p = state
        .payments
        .get_mut(hash)
        .ok_or(PayError::UnknownTransaction)?;
    if p.status != "pending" {
        return Err(PayError::NotPending(p.status.clone()));
    }
    let card = TEST_CARDS
        .iter()
        .find(|c| c.number == number)
        .ok_or(PayError::InvalidCard)?;
    p.card = Some(number.clone());
    let service = matches!(p.kind, Kind::Service { .. });
    let after = match card.outcome {
        CardOutcome::Decline => {
            Payment::set_status(
                p,
                "error",
                Some(("ERROR_PAYMENT", "KKB rejected payment")),
                now,
            );
            After::Final
        }
        CardOutcome::Denied => {
            Payment::set_status(
                p,
                "denied",
                Some(("ERROR_SYSTEM", "Denied by the acquirer")),
                now,
            );
            After::Final
        }
        CardOutcome::Success | CardOutcome::FailAfterSuccess => {
            let fail = card.outcome == CardOutcome::FailAfterSuccess;
            Payment::set_status(p, "authorized", None, now);
            Payment::set_status(p, "success", None, now);
            if service {
                p.history.push("accrual".into());
                After::Accrual { fail }
            } else {
                if fail {
                    Payment::set_status(p, "error", Some(("ERROR_SYSTEM", "Clearing failed")), now);
                } else {
                    Payment::set_status(p, "completed", None, now);
                }
                After::Final
            }
        }
    };
    let delay = shared.scale.scale(shared.config.accrual_delay);
    match after {
        After::Final => {
            let status = p.status.clone();
            drop(state);
            delivery::schedule(shared, hash);
            Ok(status)
        }
        After::Accrual { fail } if delay.is_zero() => {
            finish_accrual(p, fail, now);
            let status = p.status.clone();
            drop(state);
            delivery::schedule(shared, hash);
            Ok(status)
        }
        After::Accrual { fail } => {
            drop(state);
            let shared2 = shared.clone();
            let hash2 = hash.to_owned();
            let spawned = tokio::runtime::Handle::try_current().map(|h| {
                h.spawn(async move {
                    tokio::time::sleep(delay).await;
                    let now = shared2.now();
                    if let Some(p) = shared2.lock().payments.get_mut(&hash2) {
                        finish_accrual(p, fail, now);
                    }
                    delivery::schedule(&shared2, &hash2);
                })
            });
            if spawned.is_err() {
                if let Some(p) = shared.lock().payments.get_mut(hash) {
                    finish_accrual(p, fail, now);
                }
                delivery::schedule(shared, hash);
            }
            Ok("success".into())
        }
    }
}

fn finish_accrual(p: &mut Payment, fail: bool, now: OffsetDateTime) {
    if fail {
        Payment::set_status(
            p,
            "denied",
            Some(("ERROR_SYSTEM", "Service accrual failed")),
            now,
        );
    } else {
        Payment::set_status(p, "completed", None, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(crate::pages::query_escape("a b/+"), "a%20b%2F%2B");
    }
}
