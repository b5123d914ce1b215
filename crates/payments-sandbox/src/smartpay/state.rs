//! The emulator's state machine: sessions, purchases, refunds and receipts.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// What a released purchase (or a requested refund) turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Outcome {
    /// `success` after the processing delay.
    #[default]
    Success,
    /// `declined` after the processing delay.
    Decline,
    /// Stays `processing` until the kassa cancels it.
    Slow,
}

/// A purchase as the emulator holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurchaseView {
    /// The service's purchase id.
    pub purchase_id: String,
    /// The kassa (login) that committed it.
    pub kassa: String,
    /// The kassa's purchase id.
    pub kassa_purchase_id: String,
    /// The QR's loyalty id.
    pub id_loyalty: String,
    /// `committed`, `processing`, `success`, `declined`, `cancelled`.
    pub status: String,
    /// The released amount in kopecks.
    pub amount: Option<u64>,
    /// The total of successful refunds in kopecks.
    pub refunded: u64,
    /// The kassa's last report (`success`/`cancel`).
    pub kassa_status: Option<String>,
    /// How many release calls it received.
    pub release_calls: u32,
}

/// A refund as the emulator holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundView {
    /// The service's refund id.
    pub refund_id: String,
    /// The refunded purchase.
    pub purchase_id: String,
    /// The kassa's refund id.
    pub kassa_refund_id: String,
    /// The amount in kopecks.
    pub amount: u64,
    /// `processing`, `success`, `declined`, `cancelled`.
    pub status: String,
    /// The kassa's last report.
    pub kassa_status: Option<String>,
}

/// A stored fiscal receipt.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReceiptView {
    /// The service's receipt id.
    pub receipt_id: String,
    /// 1 or 2 (the endpoint's version).
    pub version: u8,
    /// The kassa that sent it.
    pub kassa: String,
    /// The request body as received.
    pub body: serde_json::Value,
}

pub(crate) struct Purchase {
    pub view: PurchaseView,
    pub released_at: Option<Instant>,
    pub outcome: Outcome,
}

pub(crate) struct Refund {
    pub view: RefundView,
    pub requested_at: Instant,
    pub outcome: Outcome,
}

/// A refusal: HTTP status, code, message.
pub(crate) type Refusal = (u16, &'static str, String);

pub(crate) fn refusal(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
    (status, code, message.into())
}

#[derive(Default)]
pub(crate) struct State {
    pub sessions: HashMap<String, (String, Instant)>,
    pub auth_calls: u64,
    pub purchases: HashMap<String, Purchase>,
    /// QR key → purchase id.
    pub codes: HashMap<String, String>,
    pub refunds: HashMap<String, Refund>,
    pub receipts: Vec<ReceiptView>,
    pub next_id: u64,
    pub outcome: Outcome,
    pub outcome_for: HashMap<String, Outcome>,
    pub refund_outcome: Outcome,
    pub processing: Duration,
    pub cookie_lifetime: Duration,
}

impl State {
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:06}", self.next_id)
    }

    /// Moves time-driven statuses forward.
    pub fn settle(&mut self, now: Instant) {
        let processing = self.processing;
        for p in self.purchases.values_mut() {
            if p.view.status == "processing" {
                if let Some(at) = p.released_at {
                    if now >= at + processing {
                        match p.outcome {
                            Outcome::Success => p.view.status = "success".into(),
                            Outcome::Decline => p.view.status = "declined".into(),
                            Outcome::Slow => {}
                        }
                    }
                }
            }
        }
        let mut refunded: Vec<(String, u64)> = Vec::new();
        for r in self.refunds.values_mut() {
            if r.view.status == "processing" && now >= r.requested_at + processing {
                match r.outcome {
                    Outcome::Success => {
                        r.view.status = "success".into();
                        refunded.push((r.view.purchase_id.clone(), r.view.amount));
                    }
                    Outcome::Decline => r.view.status = "declined".into(),
                    Outcome::Slow => {}
                }
            }
        }
        for (purchase_id, amount) in refunded {
            if let Some(p) = self.purchases.get_mut(&purchase_id) {
                p.view.refunded += amount;
            }
        }
    }

    pub fn commit(
        &mut self,
        kassa: &str,
        code_key: String,
        id_loyalty: String,
        kassa_purchase_id: String,
    ) -> Result<PurchaseView, Refusal> {
        if let Some(id) = self.codes.get(&code_key) {
            if let Some(p) = self.purchases.get(id) {
                if p.view.kassa == kassa && p.view.kassa_purchase_id == kassa_purchase_id {
                    // The same commit again (a retry): the same purchase.
                    return Ok(p.view.clone());
                }
            }
            return Err(refusal(
                409,
                "code_already_committed",
                "the QR code is already committed",
            ));
        }
        if self
            .purchases
            .values()
            .any(|p| p.view.kassa == kassa && p.view.kassa_purchase_id == kassa_purchase_id)
        {
            return Err(refusal(
                409,
                "duplicate_kassa_purchase_id",
                "kassa_purchase_id is already used at this kassa",
            ));
        }
        let id = self.new_id("p");
        let outcome = self
            .outcome_for
            .get(&id_loyalty)
            .copied()
            .unwrap_or(self.outcome);
        let view = PurchaseView {
            purchase_id: id.clone(),
            kassa: kassa.to_owned(),
            kassa_purchase_id,
            id_loyalty,
            status: "committed".into(),
            amount: None,
            refunded: 0,
            kassa_status: None,
            release_calls: 0,
        };
        self.codes.insert(code_key, id.clone());
        self.purchases.insert(
            id,
            Purchase {
                view: view.clone(),
                released_at: None,
                outcome,
            },
        );
        Ok(view)
    }

    pub fn purchase_mut(&mut self, kassa: &str, id: &str) -> Result<&mut Purchase, Refusal> {
        match self.purchases.get_mut(id) {
            Some(p) if p.view.kassa == kassa => Ok(p),
            _ => Err(refusal(404, "purchase_not_found", "purchase not found")),
        }
    }

    pub fn release(
        &mut self,
        kassa: &str,
        id: &str,
        amount: u64,
        now: Instant,
    ) -> Result<PurchaseView, Refusal> {
        if amount == 0 {
            return Err(refusal(400, "invalid_amount", "amount must be positive"));
        }
        let p = self.purchase_mut(kassa, id)?;
        p.view.release_calls += 1;
        if p.view.status != "committed" {
            return Err(refusal(
                409,
                "purchase_already_released",
                format!("purchase is {}", p.view.status),
            ));
        }
        p.view.status = "processing".into();
        p.view.amount = Some(amount);
        p.released_at = Some(now);
        Ok(p.view.clone())
    }

    pub fn kassa_status(
        &mut self,
        kassa: &str,
        id: &str,
        status: &str,
    ) -> Result<PurchaseView, Refusal> {
        let p = self.purchase_mut(kassa, id)?;
        match status {
            "success" => {
                if p.view.status != "success" {
                    return Err(refusal(
                        409,
                        "purchase_not_successful",
                        format!("purchase is {}", p.view.status),
                    ));
                }
            }
            "cancel" => match p.view.status.as_str() {
                "committed" | "processing" => p.view.status = "cancelled".into(),
                "success" if p.view.kassa_status.is_none() && p.view.refunded == 0 => {
                    p.view.status = "cancelled".into()
                }
                "cancelled" | "declined" => {}
                other => {
                    return Err(refusal(
                        409,
                        "purchase_not_cancellable",
                        format!("purchase is {other}"),
                    ))
                }
            },
            other => {
                return Err(refusal(
                    400,
                    "invalid_status",
                    format!("unknown kassa status {other:?}"),
                ))
            }
        }
        p.view.kassa_status = Some(status.to_owned());
        Ok(p.view.clone())
    }

    pub fn refund(
        &mut self,
        kassa: &str,
        purchase_id: &str,
        kassa_refund_id: String,
        amount: u64,
        now: Instant,
    ) -> Result<RefundView, Refusal> {
        if amount == 0 {
            return Err(refusal(400, "invalid_amount", "amount must be positive"));
        }
        if let Some(r) = self.refunds.values().find(|r| {
            r.view.kassa_refund_id == kassa_refund_id
                && self
                    .purchases
                    .get(&r.view.purchase_id)
                    .is_some_and(|p| p.view.kassa == kassa)
        }) {
            if r.view.purchase_id == purchase_id && r.view.amount == amount {
                return Ok(r.view.clone());
            }
            return Err(refusal(
                409,
                "duplicate_kassa_refund_id",
                "kassa_refund_id is already used at this kassa",
            ));
        }
        let p = self.purchase_mut(kassa, purchase_id)?;
        if p.view.status != "success" {
            return Err(refusal(
                409,
                "purchase_not_successful",
                format!("purchase is {}", p.view.status),
            ));
        }
        let paid = p.view.amount.unwrap_or(0);
        let pending: u64 = self
            .refunds
            .values()
            .filter(|r| r.view.purchase_id == purchase_id)
            .filter(|r| r.view.status == "processing" || r.view.status == "success")
            .map(|r| r.view.amount)
            .sum();
        if pending.saturating_add(amount) > paid {
            return Err(refusal(
                409,
                "refund_exceeds_purchase",
                format!(
                    "refunds would total {} of {paid}",
                    pending.saturating_add(amount)
                ),
            ));
        }
        let id = self.new_id("rf");
        let view = RefundView {
            refund_id: id.clone(),
            purchase_id: purchase_id.to_owned(),
            kassa_refund_id,
            amount,
            status: "processing".into(),
            kassa_status: None,
        };
        let outcome = self.refund_outcome;
        self.refunds.insert(
            id,
            Refund {
                view: view.clone(),
                requested_at: now,
                outcome,
            },
        );
        Ok(view)
    }

    pub fn refund_mut(&mut self, kassa: &str, id: &str) -> Result<&mut Refund, Refusal> {
        let owner = self
            .refunds
            .get(id)
            .and_then(|r| self.purchases.get(&r.view.purchase_id))
            .map(|p| p.view.kassa == kassa);
        match (owner, self.refunds.get_mut(id)) {
            (Some(true), Some(r)) => Ok(r),
            _ => Err(refusal(404, "refund_not_found", "refund not found")),
        }
    }

    pub fn refund_kassa_status(
        &mut self,
        kassa: &str,
        id: &str,
        status: &str,
    ) -> Result<RefundView, Refusal> {
        let r = self.refund_mut(kassa, id)?;
        match status {
            "success" if r.view.status == "success" => {}
            "success" => {
                return Err(refusal(
                    409,
                    "refund_not_successful",
                    format!("refund is {}", r.view.status),
                ))
            }
            "cancel" => {
                if r.view.status == "processing" {
                    r.view.status = "cancelled".into();
                } else if r.view.status == "success" {
                    return Err(refusal(
                        409,
                        "refund_not_cancellable",
                        "refund already succeeded",
                    ));
                }
            }
            other => {
                return Err(refusal(
                    400,
                    "invalid_status",
                    format!("unknown kassa status {other:?}"),
                ))
            }
        }
        r.view.kassa_status = Some(status.to_owned());
        Ok(r.view.clone())
    }
}

/// Every error answer the emulator gives: code, HTTP status, message.
pub(crate) const ERROR_ANSWERS: &[(&str, u16, &str)] = &[
    (
        "bad_request",
        400,
        "The request body is not valid JSON or lacks a field.",
    ),
    (
        "invalid_amount",
        400,
        "The amount must be a positive integer of kopecks.",
    ),
    (
        "invalid_status",
        400,
        "The kassa status must be success or cancel.",
    ),
    ("invalid_qr", 400, "The QR data is malformed."),
    (
        "unauthorized",
        401,
        "The auth cookie is missing or expired; call /v1/auth.",
    ),
    (
        "invalid_credentials",
        401,
        "The kassa's login or password is wrong.",
    ),
    ("purchase_not_found", 404, "No such purchase at this kassa."),
    ("refund_not_found", 404, "No such refund at this kassa."),
    (
        "code_already_committed",
        409,
        "The QR code is already committed.",
    ),
    (
        "duplicate_kassa_purchase_id",
        409,
        "kassa_purchase_id is already used at this kassa.",
    ),
    (
        "duplicate_kassa_refund_id",
        409,
        "kassa_refund_id is already used at this kassa.",
    ),
    (
        "purchase_already_released",
        409,
        "The purchase was already released.",
    ),
    (
        "purchase_not_successful",
        409,
        "The purchase is not successful.",
    ),
    (
        "purchase_not_cancellable",
        409,
        "The purchase can no longer be cancelled.",
    ),
    (
        "refund_exceeds_purchase",
        409,
        "The refunds would exceed the purchase amount.",
    ),
    (
        "refund_not_successful",
        409,
        "The refund is not successful.",
    ),
    (
        "refund_not_cancellable",
        409,
        "The refund already succeeded.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            processing: Duration::from_millis(10),
            ..State::default()
        }
    }

    fn paid(s: &mut State, kassa: &str, code: &str, amount: u64, now: Instant) -> String {
        let p = s
            .commit(kassa, code.into(), "7000".into(), format!("k-{code}"))
            .unwrap();
        s.release(kassa, &p.purchase_id, amount, now).unwrap();
        s.settle(now + Duration::from_millis(10));
        assert_eq!(s.purchases[&p.purchase_id].view.status, "success");
        p.purchase_id
    }

    #[test]
    fn a_code_is_committed_once() {
        let mut s = state();
        let p = s.commit("a", "qr".into(), "1".into(), "1".into()).unwrap();
        assert_eq!(
            s.commit("a", "qr".into(), "1".into(), "1".into())
                .unwrap()
                .purchase_id,
            p.purchase_id
        );
        assert_eq!(
            s.commit("b", "qr".into(), "1".into(), "1".into())
                .unwrap_err()
                .1,
            "code_already_committed"
        );
        assert_eq!(
            s.commit("a", "qr".into(), "1".into(), "2".into())
                .unwrap_err()
                .1,
            "code_already_committed"
        );
        assert_eq!(
            s.commit("a", "qr2".into(), "1".into(), "1".into())
                .unwrap_err()
                .1,
            "duplicate_kassa_purchase_id"
        );
    }

    #[test]
    fn release_once_then_final_by_outcome() {
        let mut s = state();
        let now = Instant::now();
        s.outcome = Outcome::Decline;
        let p = s.commit("a", "q".into(), "1".into(), "1".into()).unwrap();
        assert_eq!(
            s.release("a", &p.purchase_id, 0, now).unwrap_err().1,
            "invalid_amount"
        );
        assert_eq!(
            s.release("b", &p.purchase_id, 5, now).unwrap_err().1,
            "purchase_not_found"
        );
        s.release("a", &p.purchase_id, 5, now).unwrap();
        assert_eq!(
            s.release("a", &p.purchase_id, 5, now).unwrap_err().1,
            "purchase_already_released"
        );
        s.settle(now);
        assert_eq!(s.purchases[&p.purchase_id].view.status, "processing");
        s.settle(now + Duration::from_millis(10));
        assert_eq!(s.purchases[&p.purchase_id].view.status, "declined");
        assert_eq!(
            s.kassa_status("a", &p.purchase_id, "success")
                .unwrap_err()
                .1,
            "purchase_not_successful"
        );
        assert_eq!(s.purchases[&p.purchase_id].view.release_calls, 2);
    }

    #[test]
    fn refunds_never_exceed_the_purchase() {
        let mut s = state();
        let now = Instant::now();
        let id = paid(&mut s, "a", "q", 100, now);
        s.refund("a", &id, "r1".into(), 60, now).unwrap();
        // The processing refund already counts.
        assert_eq!(
            s.refund("a", &id, "r2".into(), 41, now).unwrap_err().1,
            "refund_exceeds_purchase"
        );
        let r2 = s.refund("a", &id, "r2".into(), 40, now).unwrap();
        assert_eq!(
            s.refund("a", &id, "r2".into(), 1, now).unwrap_err().1,
            "duplicate_kassa_refund_id"
        );
        s.refund_kassa_status("a", &r2.refund_id, "cancel").unwrap();
        s.settle(now + Duration::from_millis(10));
        assert_eq!(s.purchases[&id].view.refunded, 60);
        s.refund("a", &id, "r3".into(), 40, now).unwrap();
        assert_eq!(
            s.refund("b", &id, "r4".into(), 1, now).unwrap_err().1,
            "purchase_not_found"
        );
    }

    #[test]
    fn cancel_rules() {
        let mut s = state();
        let now = Instant::now();
        let id = paid(&mut s, "a", "q", 100, now);
        s.kassa_status("a", &id, "success").unwrap();
        assert_eq!(
            s.kassa_status("a", &id, "cancel").unwrap_err().1,
            "purchase_not_cancellable"
        );
        assert_eq!(
            s.kassa_status("a", &id, "maybe").unwrap_err().1,
            "invalid_status"
        );
        let other = s.commit("a", "q2".into(), "1".into(), "2".into()).unwrap();
        assert_eq!(
            s.kassa_status("a", &other.purchase_id, "cancel")
                .unwrap()
                .status,
            "cancelled"
        );
    }
}
