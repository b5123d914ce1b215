//! The calls: one method of [`Client`] per Ktpay endpoint, each with its [`Operation`] from
//! `crate::operations`.

use bytes::Bytes;
use http::Method;
use payments_core::{Amount, Operation, RequestSigner, Response};
use serde::de::DeserializeOwned;

use super::{join, Client};
use crate::error::Error;
use crate::model::{
    Order, PaymentCreated, Refund, Transaction, TransactionHash, ValidationError, WebUrl,
};
use crate::operations::{ACQUIRER, CANCEL, CREATE, PDF, REFUND, STATUS};
use crate::wire::{
    read_envelope, AcquirerWire, CreatePaymentWire, Created, CreatedWire, Envelope,
    RefundAnswerWire, RefundWire, TransactionWire,
};

#[cfg(doc)]
use super::ClientBuilder;

pub(crate) fn decode_error(op: &Operation, expected: &str, resp: &Response) -> Error {
    payments_core::Error::decode(expected, &resp.body)
        .with_operation(op.provider, op.name)
        .into()
}

/// Reads an answer's envelope into `W`, or into Ktpay's refusal.
fn decode<W: DeserializeOwned>(
    op: &Operation,
    expected: &str,
    resp: &Response,
) -> Result<W, Error> {
    match read_envelope(resp.status, &resp.body) {
        // serde_json's message quotes the value it refused: it is not passed on (no source).
        Some(Envelope::Success(Some(raw))) => {
            serde_json::from_str::<W>(raw.get()).map_err(|_| decode_error(op, expected, resp))
        }
        Some(Envelope::Success(None)) => Err(decode_error(op, expected, resp)),
        Some(Envelope::Failure(p)) => Err(p.into()),
        None if !resp.status.is_success() => Err(payments_core::transport::status_error(resp)
            .with_operation(op.provider, op.name)
            .into()),
        None => Err(decode_error(op, expected, resp)),
    }
}

impl Client {
    /// Creates a payment: seals the order, sends it, and returns the transaction hash and the
    /// widget URL to send the customer to.
    ///
    /// Not retried once it may have reached Ktpay. After an error with
    /// [`Error::may_have_been_sent`], do not re-send the same `order_id` blindly (Ktpay refuses
    /// a duplicate `order_id`); ask for the status, or wait for the callback.
    ///
    /// With [`ClientBuilder::tag_callbacks`], the order's `callback_post_url` is sent with the
    /// order's tag in it (the order itself is not changed); an order without one, or with one
    /// that would carry the tag in clear, is refused before anything is sent.
    pub async fn create_payment(&self, order: &Order) -> Result<PaymentCreated, Error> {
        let tagged = self.tagged_post_url(order)?;
        let wire = CreatePaymentWire::new(order, tagged.as_ref().map(WebUrl::as_str));
        let signed = self.inner.sealer.sign(&wire)?;
        let url = join(&self.inner.api, &self.inner.paths.create, None, None)?;
        let resp = self.send(&CREATE, Method::POST, url, Some(signed)).await?;
        const EXPECTED: &str = "a payload with transaction_hash";
        let wire: CreatedWire = decode(&CREATE, EXPECTED, &resp)?;
        let created =
            Created::try_from(wire).map_err(|what| decode_error(&CREATE, &what, &resp))?;
        let widget_url = self.widget_url(&created.transaction_hash)?;
        Ok(PaymentCreated {
            transaction_hash: created.transaction_hash,
            show_close_button: created.show_close_button,
            widget_url,
        })
    }

    /// The acquirer's payment page (card form) for a transaction (`payment_page`).
    pub async fn acquirer_options(&self, hash: &TransactionHash) -> Result<WebUrl, Error> {
        let url = join(
            &self.inner.api,
            &self.inner.paths.acquirer_options,
            Some(hash),
            None,
        )?;
        let resp = self.send(&ACQUIRER, Method::GET, url, None).await?;
        const EXPECTED: &str = "a payload with an absolute payment_page URL";
        let wire: AcquirerWire = decode(&ACQUIRER, EXPECTED, &resp)?;
        wire.payment_page
            .as_deref()
            .and_then(|p| WebUrl::parse("payment_page", p).ok())
            .ok_or_else(|| decode_error(&ACQUIRER, EXPECTED, &resp))
    }

    /// The receipt as PDF bytes, checked to start with `%PDF-`.
    pub async fn receipt_pdf(&self, hash: &TransactionHash) -> Result<Bytes, Error> {
        let url = join(
            &self.inner.api,
            &self.inner.paths.receipt_pdf,
            Some(hash),
            None,
        )?;
        let resp = self.send(&PDF, Method::GET, url, None).await?;
        if resp.status.is_success() && resp.body.starts_with(b"%PDF-") {
            return Ok(resp.body);
        }
        match read_envelope(resp.status, &resp.body) {
            Some(Envelope::Failure(p)) => Err(p.into()),
            _ if !resp.status.is_success() => Err(payments_core::transport::status_error(&resp)
                .with_operation(PDF.provider, PDF.name)
                .into()),
            _ => Err(decode_error(
                &PDF,
                "a PDF document (starting with %PDF-)",
                &resp,
            )),
        }
    }

    /// **Provisional** (never published by Ktpay): the transaction's status, assumed to have
    /// the callback's shape. `GET {api}/api/v1/merchant-widget/payment/{hash}` with
    /// `Auth-Identifier`.
    ///
    /// The answer to the merchant's own call is Ktpay's word on the transaction. To settle an
    /// order with it, use [`Client::confirm_status`], which also checks that the transaction is
    /// the stored order's (id, amount, hash).
    pub async fn payment_status(&self, hash: &TransactionHash) -> Result<Transaction, Error> {
        let url = join(&self.inner.api, &self.inner.paths.status, Some(hash), None)?;
        let resp = self.send(&STATUS, Method::GET, url, None).await?;
        transaction(&STATUS, &resp)
    }

    /// **Provisional**: cancels a transaction that is not final yet. `POST .../{hash}/cancel`
    /// with `Auth-Identifier` and no body; the answer is assumed to have the callback's shape.
    pub async fn cancel_payment(&self, hash: &TransactionHash) -> Result<Transaction, Error> {
        let url = join(&self.inner.api, &self.inner.paths.cancel, Some(hash), None)?;
        let resp = self.send(&CANCEL, Method::POST, url, None).await?;
        transaction(&CANCEL, &resp)
    }

    /// **Provisional**: refunds `amount` (positive) of a completed transaction. `POST
    /// .../{hash}/refund` with a sealed `{"amount": ...}` body.
    pub async fn refund_payment(
        &self,
        hash: &TransactionHash,
        amount: Amount,
    ) -> Result<Refund, Error> {
        if amount.is_zero() {
            return Err(ValidationError::single("amount", "must be greater than zero").into());
        }
        let signed = self.inner.sealer.sign(&RefundWire { amount })?;
        let url = join(&self.inner.api, &self.inner.paths.refund, Some(hash), None)?;
        let resp = self.send(&REFUND, Method::POST, url, Some(signed)).await?;
        const EXPECTED: &str = "a refund payload";
        let wire: RefundAnswerWire = decode(&REFUND, EXPECTED, &resp)?;
        Refund::try_from(wire).map_err(|_| decode_error(&REFUND, EXPECTED, &resp))
    }

    /// The order's `callback_post_url` with its tag, when the client tags callbacks.
    fn tagged_post_url(&self, order: &Order) -> Result<Option<WebUrl>, Error> {
        let Some(tagger) = &self.inner.tagger else {
            return Ok(None);
        };
        let post = order.callbacks().post.as_ref().ok_or_else(|| {
            ValidationError::single(
                "callback_post_url",
                "is required when the client tags callbacks: without it Ktpay posts to the \
                 merchant's default URL, which carries no tag",
            )
        })?;
        let tagged = tagger.tagged_url(post, order.order_id(), order.amount());
        tagger
            .check_scheme(&tagged, self.inner.plain_http)
            .map_err(payments_core::Error::config)?;
        Ok(Some(tagged))
    }
}

/// Reads a transaction (the callback's shape) from an answer's envelope.
fn transaction(op: &Operation, resp: &Response) -> Result<Transaction, Error> {
    const EXPECTED: &str = "a transaction in the callback's shape";
    let wire: TransactionWire = decode(op, EXPECTED, resp)?;
    Transaction::try_from(wire).map_err(|_| decode_error(op, EXPECTED, resp))
}
