//! Flow helpers: the documented purchase and refund sequences as types, so that the steps can
//! only be taken in order.
//!
//! Purchase: [`Client::commit_code`] → [`CommittedPurchase::release`] →
//! [`ReleasedPurchase::wait_for_status`] → [`ReleasedPurchase::confirm`] →
//! [`ConfirmedPurchase::send_fiscal`]. [`ReleasedPurchase::cancel`] is the cashier's (or the
//! customer's) decision to abort, never a reaction to a deadline or to a status the SDK does not
//! know.
//!
//! Refund: [`ConfirmedPurchase::refund`] or [`Client::refund`] →
//! [`PendingRefund::wait_for_status`] → [`PendingRefund::confirm`] (or
//! [`PendingRefund::cancel`]).
//!
//! Waiting ends in a typed outcome ([`PurchaseOutcome`], [`RefundOutcome`]): a known final
//! status, or at once a status the SDK does not know ([`PurchaseOutcome::Unrecognised`]), which
//! is neither "paid" nor "not yet final"; or, while the status stays pending, in
//! [`Error::DeadlineElapsed`].

use std::time::Duration;

use payments_core::{poll_until, Amount, Invalid, PollOutcome, PollStep};

use super::Client;
use crate::error::Error;
use crate::model::{
    CommitCodeRequest, FiscalResponse, FiscalV1Request, FiscalV2Request, KassaId, KassaStatus,
    PurchaseKassaStatusRequest, PurchaseOutcome, PurchaseStatus, QrCode, Receipt,
    RefundKassaStatusRequest, RefundOutcome, RefundRequest, RefundStatus, ReleaseRequest,
};

impl Client {
    /// Commits the customer's QR code to this kassa, as soon as it is read. Returns the purchase,
    /// ready for [`CommittedPurchase::release`] once the amount is known.
    pub async fn commit_code(
        &self,
        qr: &QrCode,
        kassa_purchase_id: &KassaId,
    ) -> Result<CommittedPurchase, Error> {
        let req = CommitCodeRequest::new(kassa_purchase_id.as_str(), qr);
        let resp = self.commit_code_raw(&req).await?;
        Ok(CommittedPurchase {
            client: self.clone(),
            purchase_id: resp.purchase_id,
            kassa_purchase_id: kassa_purchase_id.clone(),
        })
    }

    /// Requests a refund of `amount` of a successful purchase. Not idempotent: when this fails
    /// with [`Error::may_have_been_sent`], the refund may exist. Do not request it again until
    /// the provider has told you what became of it (the guide gives no way to look a refund up
    /// by its `kassa_refund_id`). An answer without a status is not an error.
    pub async fn refund(
        &self,
        purchase_id: &str,
        kassa_refund_id: &KassaId,
        amount: Amount,
    ) -> Result<PendingRefund, Error> {
        if amount.is_zero() {
            return Err(Invalid::new("amount", "a refund amount must be positive").into());
        }
        let req = RefundRequest::new(amount, kassa_refund_id.as_str(), purchase_id);
        let resp = self.refund_raw(&req).await?;
        Ok(PendingRefund {
            client: self.clone(),
            refund_id: resp.refund_id,
            last_status: resp.status,
            reason: None,
        })
    }

    /// Stores a receipt (`/v2/purchase/fiscal`) with the customer's QR data (as scanned), whether
    /// or not the purchase was paid with Smart Pay. Not idempotent: when this fails with
    /// [`Error::may_have_been_sent`], the receipt may be stored; sending it again could show it
    /// twice in the customer's history.
    pub async fn send_fiscal_v2(
        &self,
        qr: &QrCode,
        purchase_id: Option<&str>,
        receipt: Receipt,
    ) -> Result<FiscalResponse, Error> {
        let mut req = FiscalV2Request::new(qr, receipt);
        req.purchase_id = purchase_id.map(str::to_owned);
        self.fiscal_v2(&req).await
    }
}

/// Polls `status` on the client's [`PollPolicy`](payments_core::PollPolicy) while `read` says
/// it is pending, until `timeout` (or the policy's own deadline, if shorter) has passed
/// ([`Error::DeadlineElapsed`]). An error, or anything `read` calls final, ends it at once.
async fn poll<S, T, F, Fut>(
    client: &Client,
    timeout: Duration,
    mut status: F,
    read: impl Fn(S) -> PollStep<T, String>,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<S, Error>>,
{
    let policy = client.poll_policy();
    let deadline = policy.deadline().map_or(timeout, |own| own.min(timeout));
    let read = &read;
    let outcome = poll_until(&policy.with_deadline(deadline), || {
        let answer = status();
        async move {
            match answer.await {
                Ok(answer) => match read(answer) {
                    PollStep::Final(outcome) => PollStep::Final(Ok(outcome)),
                    PollStep::Pending(status) => PollStep::Pending(status),
                },
                Err(e) => PollStep::Final(Err(e)),
            }
        }
    })
    .await;
    match outcome {
        PollOutcome::Final(outcome) => outcome,
        PollOutcome::DeadlinePassed(last_status) => Err(Error::DeadlineElapsed { last_status }),
    }
}

/// A purchase whose QR code is committed to this kassa; the amount is not yet known.
#[derive(Debug)]
#[must_use = "a committed purchase must be released or cancelled"]
pub struct CommittedPurchase {
    client: Client,
    purchase_id: String,
    kassa_purchase_id: KassaId,
}

impl CommittedPurchase {
    /// The service's purchase id.
    pub fn purchase_id(&self) -> &str {
        &self.purchase_id
    }

    /// The kassa's purchase id.
    pub fn kassa_purchase_id(&self) -> &KassaId {
        &self.kassa_purchase_id
    }

    /// Starts the payment for `amount`. Sent at most once: on an error that
    /// [`may_have_been_sent`](Error::may_have_been_sent), resume with
    /// [`Client::resume_purchase`] and poll the status rather than releasing again. An answer
    /// without a status is not an error: the status is polled next.
    pub async fn release(self, amount: Amount) -> Result<ReleasedPurchase, Error> {
        if amount.is_zero() {
            return Err(Invalid::new("amount", "a purchase amount must be positive").into());
        }
        let req = ReleaseRequest::new(amount, self.purchase_id.as_str());
        let resp = self.client.release(&req).await?;
        Ok(ReleasedPurchase {
            client: self.client,
            purchase_id: self.purchase_id,
            amount,
            last_status: resp.status,
            reason: None,
        })
    }

    /// Aborts before release (`/v1/purchase/kassa/status` with `cancel`); returns the status in
    /// the answer, if it has one.
    pub async fn cancel(self) -> Result<Option<PurchaseStatus>, Error> {
        kassa_status(&self.client, &self.purchase_id, KassaStatus::Cancel).await
    }
}

async fn kassa_status(
    client: &Client,
    purchase_id: &str,
    status: KassaStatus,
) -> Result<Option<PurchaseStatus>, Error> {
    let req = PurchaseKassaStatusRequest::new(purchase_id, status);
    Ok(client.purchase_kassa_status(&req).await?.status)
}

impl Client {
    /// Resumes a released purchase by id (after a restart, or after a release whose answer was
    /// lost), to poll, confirm or cancel it.
    pub fn resume_purchase(
        &self,
        purchase_id: impl Into<String>,
        amount: Amount,
    ) -> ReleasedPurchase {
        ReleasedPurchase {
            client: self.clone(),
            purchase_id: purchase_id.into(),
            amount,
            last_status: None,
            reason: None,
        }
    }
}

/// A purchase whose payment was started.
#[derive(Debug)]
#[must_use = "a released purchase must be confirmed or cancelled"]
pub struct ReleasedPurchase {
    client: Client,
    purchase_id: String,
    amount: Amount,
    last_status: Option<PurchaseStatus>,
    reason: Option<String>,
}

impl ReleasedPurchase {
    /// The service's purchase id.
    pub fn purchase_id(&self) -> &str {
        &self.purchase_id
    }

    /// The released amount.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The last status seen (in the release answer or while waiting), if any.
    pub fn last_status(&self) -> Option<&PurchaseStatus> {
        self.last_status.as_ref()
    }

    /// Polls `/v1/purchase/status` on the client's [`PollPolicy`](crate::PollPolicy) (default
    /// [`DEFAULT_POLL_POLICY`](crate::DEFAULT_POLL_POLICY): 250 ms growing by half up to 2 s)
    /// while the status is pending (`committed`, `processing`), and returns what it ended in:
    /// [`PurchaseOutcome::Paid`], [`PurchaseOutcome::NotPaid`], or at once
    /// [`PurchaseOutcome::Unrecognised`] for a status the SDK does not know. When `timeout` (or
    /// the policy's own deadline, if shorter) passes while it is still pending, fails with
    /// [`Error::DeadlineElapsed`]: the purchase may still be paid, so poll again later (it can be
    /// resumed by id with [`Client::resume_purchase`]); a deadline is no reason to cancel. An
    /// error of the status call ends the polling at once (the client's retry policy has already
    /// retried it).
    pub async fn wait_for_status(&mut self, timeout: Duration) -> Result<PurchaseOutcome, Error> {
        let client = self.client.clone();
        let id = self.purchase_id.clone();
        let (outcome, status, reason) = poll(
            &self.client,
            timeout,
            || client.purchase_status(&id),
            |r| {
                let outcome = match &r.status {
                    PurchaseStatus::Committed | PurchaseStatus::Processing => {
                        return PollStep::Pending(r.status.to_string())
                    }
                    PurchaseStatus::Success => PurchaseOutcome::Paid,
                    PurchaseStatus::Declined
                    | PurchaseStatus::Cancelled
                    | PurchaseStatus::Expired => PurchaseOutcome::NotPaid {
                        status: r.status.clone(),
                        reason: r.reason.clone(),
                    },
                    PurchaseStatus::Unknown(other) => PurchaseOutcome::Unrecognised(other.clone()),
                };
                PollStep::Final((outcome, r.status, r.reason))
            },
        )
        .await?;
        self.last_status = Some(status);
        self.reason = reason;
        Ok(outcome)
    }

    /// Confirms a paid purchase at the kassa (`/v1/purchase/kassa/status` with `success`).
    /// Fails with [`Error::PurchaseNotSuccessful`], without calling the service, unless
    /// [`ReleasedPurchase::wait_for_status`] saw `success`.
    pub async fn confirm(self) -> Result<ConfirmedPurchase, Error> {
        if self.last_status != Some(PurchaseStatus::Success) {
            return Err(Error::PurchaseNotSuccessful {
                purchase_id: self.purchase_id,
                status: self.last_status,
                reason: self.reason,
            });
        }
        kassa_status(&self.client, &self.purchase_id, KassaStatus::Success).await?;
        Ok(ConfirmedPurchase {
            client: self.client,
            purchase_id: self.purchase_id,
            amount: self.amount,
        })
    }

    /// Aborts the purchase (`/v1/purchase/kassa/status` with `cancel`): the guide's way for the
    /// cashier or the customer to stop waiting, after which the service cancels the payment on
    /// its side. It is their decision: not a reaction to [`Error::DeadlineElapsed`] or to
    /// [`PurchaseOutcome::Unrecognised`], when the customer may have paid. Returns the status in
    /// the answer, if it has one.
    pub async fn cancel(self) -> Result<Option<PurchaseStatus>, Error> {
        kassa_status(&self.client, &self.purchase_id, KassaStatus::Cancel).await
    }
}

/// A purchase paid and confirmed at the kassa.
#[derive(Debug, Clone)]
pub struct ConfirmedPurchase {
    client: Client,
    purchase_id: String,
    amount: Amount,
}

impl ConfirmedPurchase {
    /// The service's purchase id.
    pub fn purchase_id(&self) -> &str {
        &self.purchase_id
    }

    /// The paid amount.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// Stores the receipt by the kassa's registration number and the receipt's fiscal sign
    /// (`/v1/purchase/fiscal`). Not idempotent: when this fails with
    /// [`Error::may_have_been_sent`], the receipt may be stored; sending it again could show it
    /// twice in the customer's history.
    pub async fn send_fiscal(
        &self,
        kassa_reg_number: &str,
        fiscal_sign: &str,
    ) -> Result<FiscalResponse, Error> {
        let req = FiscalV1Request::new(fiscal_sign, kassa_reg_number, self.purchase_id.as_str());
        self.client.fiscal_v1(&req).await
    }

    /// Stores the full receipt with the customer's QR data (`/v2/purchase/fiscal`; see
    /// [`Client::send_fiscal_v2`]).
    pub async fn send_fiscal_v2(
        &self,
        qr: &QrCode,
        receipt: Receipt,
    ) -> Result<FiscalResponse, Error> {
        self.client
            .send_fiscal_v2(qr, Some(&self.purchase_id), receipt)
            .await
    }

    /// Requests a refund of `amount` (see [`Client::refund`]).
    pub async fn refund(
        &self,
        kassa_refund_id: &KassaId,
        amount: Amount,
    ) -> Result<PendingRefund, Error> {
        self.client
            .refund(&self.purchase_id, kassa_refund_id, amount)
            .await
    }
}

/// A requested refund.
#[derive(Debug)]
#[must_use = "a refund must be confirmed or cancelled"]
pub struct PendingRefund {
    client: Client,
    refund_id: String,
    last_status: Option<RefundStatus>,
    reason: Option<String>,
}

impl PendingRefund {
    /// The service's refund id.
    pub fn refund_id(&self) -> &str {
        &self.refund_id
    }

    /// The last status seen (in the refund answer or while waiting), if any.
    pub fn last_status(&self) -> Option<&RefundStatus> {
        self.last_status.as_ref()
    }

    /// Polls `/v1/purchase/refund/status` on the client's [`PollPolicy`](crate::PollPolicy)
    /// while the status is pending (`processing`), and returns what it ended in, at once for a
    /// status the SDK does not know; fails with [`Error::DeadlineElapsed`] when `timeout` (or
    /// the policy's own deadline, if shorter) passes while it is still pending.
    pub async fn wait_for_status(&mut self, timeout: Duration) -> Result<RefundOutcome, Error> {
        let client = self.client.clone();
        let id = self.refund_id.clone();
        let (outcome, status, reason) = poll(
            &self.client,
            timeout,
            || client.refund_status(&id),
            |r| {
                let outcome = match &r.status {
                    RefundStatus::Processing => return PollStep::Pending(r.status.to_string()),
                    RefundStatus::Success => RefundOutcome::Refunded,
                    RefundStatus::Declined | RefundStatus::Cancelled => {
                        RefundOutcome::NotRefunded {
                            status: r.status.clone(),
                            reason: r.reason.clone(),
                        }
                    }
                    RefundStatus::Unknown(other) => RefundOutcome::Unrecognised(other.clone()),
                };
                PollStep::Final((outcome, r.status, r.reason))
            },
        )
        .await?;
        self.last_status = Some(status);
        self.reason = reason;
        Ok(outcome)
    }

    /// Confirms a successful refund at the kassa. Fails with [`Error::RefundNotSuccessful`],
    /// without calling the service, unless [`PendingRefund::wait_for_status`] saw `success`.
    /// Returns the status in the answer, if it has one.
    pub async fn confirm(self) -> Result<Option<RefundStatus>, Error> {
        if self.last_status != Some(RefundStatus::Success) {
            return Err(Error::RefundNotSuccessful {
                refund_id: self.refund_id,
                status: self.last_status,
                reason: self.reason,
            });
        }
        self.kassa(KassaStatus::Success).await
    }

    /// Stops waiting for the refund (`cancel`); returns the status in the answer, if it has one.
    pub async fn cancel(self) -> Result<Option<RefundStatus>, Error> {
        self.kassa(KassaStatus::Cancel).await
    }

    async fn kassa(&self, status: KassaStatus) -> Result<Option<RefundStatus>, Error> {
        let req = RefundKassaStatusRequest::new(self.refund_id.as_str(), status);
        Ok(self.client.refund_kassa_status(&req).await?.status)
    }
}
