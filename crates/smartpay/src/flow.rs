//! Flow helpers: the documented purchase and refund sequences as types, so that the steps can
//! only be taken in order.
//!
//! Purchase: [`Client::commit_code`] → [`CommittedPurchase::release`] →
//! [`ReleasedPurchase::wait_for_status`] → [`ReleasedPurchase::confirm`] (or
//! [`ReleasedPurchase::cancel`]) → [`ConfirmedPurchase::send_fiscal`].
//!
//! Refund: [`ConfirmedPurchase::refund`] or [`Client::refund`] →
//! [`PendingRefund::wait_for_status`] → [`PendingRefund::confirm`] (or
//! [`PendingRefund::cancel`]).

use std::time::Duration;

use payments_core::Amount;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::Error;
use crate::generated::models::{
    self, FiscalResponse, FiscalV1Request, FiscalV2Request, KassaStatus,
    PurchaseKassaStatusRequest, PurchaseStatus, Receipt, RefundKassaStatusRequest, RefundRequest,
    RefundStatus, ReleaseRequest,
};
use crate::ids::KassaId;
use crate::qr::QrCode;

impl Client {
    /// Commits the customer's QR code to this kassa, as soon as it is read. Returns the purchase,
    /// ready for [`CommittedPurchase::release`] once the amount is known.
    pub async fn commit_code(
        &self,
        qr: &QrCode,
        kassa_purchase_id: &KassaId,
    ) -> Result<CommittedPurchase, Error> {
        let req = models::CommitCodeRequest {
            qr: qr.into(),
            kassa_purchase_id: kassa_purchase_id.as_str().to_owned(),
        };
        let resp = self.commit_code_raw(&req).await?;
        Ok(CommittedPurchase {
            client: self.clone(),
            purchase_id: resp.purchase_id,
            kassa_purchase_id: kassa_purchase_id.clone(),
        })
    }

    /// Requests a refund of `amount` of a successful purchase. Not idempotent: when this fails
    /// with [`Error::may_have_been_sent`], look the refund up by its `kassa_refund_id` at the
    /// provider instead of sending it again.
    pub async fn refund(
        &self,
        purchase_id: &str,
        kassa_refund_id: &KassaId,
        amount: Amount,
    ) -> Result<PendingRefund, Error> {
        if amount.is_zero() {
            return Err(Error::InvalidArgument(
                "a refund amount must be positive".into(),
            ));
        }
        let req = RefundRequest {
            purchase_id: purchase_id.to_owned(),
            kassa_refund_id: kassa_refund_id.as_str().to_owned(),
            amount,
        };
        let resp = self.refund_raw(&req).await?;
        Ok(PendingRefund {
            client: self.clone(),
            refund_id: resp.refund_id,
            last_status: resp.status,
            reason: None,
        })
    }

    /// Stores a receipt (`/v2/purchase/fiscal`) with the customer's QR data, whether or not the
    /// purchase was paid with Smart Pay.
    pub async fn send_fiscal_v2(
        &self,
        qr: &QrCode,
        purchase_id: Option<&str>,
        receipt: Receipt,
    ) -> Result<FiscalResponse, Error> {
        let req = FiscalV2Request {
            qr: qr.into(),
            purchase_id: purchase_id.map(str::to_owned),
            receipt,
        };
        self.fiscal_v2(&req).await
    }
}

/// Polls `status` until `is_final`, with the client's backoff, until `timeout` has passed.
async fn poll<S, F, Fut>(
    client: &Client,
    timeout: Duration,
    mut status: F,
    is_final: impl Fn(&S) -> bool,
    describe: impl Fn(&S) -> String,
) -> Result<S, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<S, Error>>,
{
    let deadline = Instant::now() + timeout;
    let policy = client.poll_policy();
    let mut delay = policy.initial;
    loop {
        let s = status().await?;
        if is_final(&s) {
            return Ok(s);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::DeadlineElapsed {
                last_status: describe(&s),
            });
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = policy.next(delay);
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
    /// [`Client::resume_purchase`] and poll the status rather than releasing again.
    pub async fn release(self, amount: Amount) -> Result<ReleasedPurchase, Error> {
        if amount.is_zero() {
            return Err(Error::InvalidArgument(
                "a purchase amount must be positive".into(),
            ));
        }
        let req = ReleaseRequest {
            purchase_id: self.purchase_id.clone(),
            amount,
        };
        let resp = self.client.release(&req).await?;
        Ok(ReleasedPurchase {
            client: self.client,
            purchase_id: self.purchase_id,
            amount,
            last_status: resp.status,
            reason: None,
        })
    }

    /// Aborts before release (`/v1/purchase/kassa/status` with `cancel`).
    pub async fn cancel(self) -> Result<PurchaseStatus, Error> {
        kassa_status(&self.client, &self.purchase_id, KassaStatus::Cancel).await
    }
}

async fn kassa_status(
    client: &Client,
    purchase_id: &str,
    status: KassaStatus,
) -> Result<PurchaseStatus, Error> {
    let req = PurchaseKassaStatusRequest {
        purchase_id: purchase_id.to_owned(),
        status,
    };
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
            last_status: PurchaseStatus::Processing,
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
    last_status: PurchaseStatus,
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

    /// The last status seen.
    pub fn last_status(&self) -> &PurchaseStatus {
        &self.last_status
    }

    /// Polls `/v1/purchase/status` with backoff until a final status or until `timeout` has
    /// passed ([`Error::DeadlineElapsed`]; the purchase can still be cancelled).
    pub async fn wait_for_status(&mut self, timeout: Duration) -> Result<PurchaseStatus, Error> {
        let client = self.client.clone();
        let id = self.purchase_id.clone();
        let resp = poll(
            &self.client,
            timeout,
            || client.purchase_status(&id),
            |r| r.status.is_final(),
            |r| r.status.to_string(),
        )
        .await?;
        self.last_status = resp.status.clone();
        self.reason = resp.reason;
        Ok(resp.status)
    }

    /// Confirms a successful purchase at the kassa (`/v1/purchase/kassa/status` with `success`).
    /// Fails with [`Error::PurchaseNotSuccessful`], without calling the service, unless
    /// [`ReleasedPurchase::wait_for_status`] saw `success`.
    pub async fn confirm(self) -> Result<ConfirmedPurchase, Error> {
        if self.last_status != PurchaseStatus::Success {
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

    /// Aborts the purchase (`/v1/purchase/kassa/status` with `cancel`); the service then cancels
    /// the payment on its side.
    pub async fn cancel(self) -> Result<PurchaseStatus, Error> {
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
    /// (`/v1/purchase/fiscal`).
    pub async fn send_fiscal(
        &self,
        kassa_reg_number: &str,
        fiscal_sign: &str,
    ) -> Result<FiscalResponse, Error> {
        let req = FiscalV1Request {
            purchase_id: self.purchase_id.clone(),
            kassa_reg_number: kassa_reg_number.to_owned(),
            fiscal_sign: fiscal_sign.to_owned(),
        };
        self.client.fiscal_v1(&req).await
    }

    /// Stores the full receipt with the customer's QR data (`/v2/purchase/fiscal`).
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
    last_status: RefundStatus,
    reason: Option<String>,
}

impl PendingRefund {
    /// The service's refund id.
    pub fn refund_id(&self) -> &str {
        &self.refund_id
    }

    /// The last status seen.
    pub fn last_status(&self) -> &RefundStatus {
        &self.last_status
    }

    /// Polls `/v1/purchase/refund/status` until a final status or until `timeout` has passed.
    pub async fn wait_for_status(&mut self, timeout: Duration) -> Result<RefundStatus, Error> {
        let client = self.client.clone();
        let id = self.refund_id.clone();
        let resp = poll(
            &self.client,
            timeout,
            || client.refund_status(&id),
            |r| r.status.is_final(),
            |r| r.status.to_string(),
        )
        .await?;
        self.last_status = resp.status.clone();
        self.reason = resp.reason;
        Ok(resp.status)
    }

    /// Confirms a successful refund at the kassa. Fails with [`Error::RefundNotSuccessful`],
    /// without calling the service, unless [`PendingRefund::wait_for_status`] saw `success`.
    pub async fn confirm(self) -> Result<RefundStatus, Error> {
        if self.last_status != RefundStatus::Success {
            return Err(Error::RefundNotSuccessful {
                refund_id: self.refund_id,
                status: self.last_status,
                reason: self.reason,
            });
        }
        self.kassa(KassaStatus::Success).await
    }

    /// Stops waiting for the refund (`cancel`).
    pub async fn cancel(self) -> Result<RefundStatus, Error> {
        self.kassa(KassaStatus::Cancel).await
    }

    async fn kassa(&self, status: KassaStatus) -> Result<RefundStatus, Error> {
        let req = RefundKassaStatusRequest {
            refund_id: self.refund_id.clone(),
            status,
        };
        Ok(self.client.refund_kassa_status(&req).await?.status)
    }
}
