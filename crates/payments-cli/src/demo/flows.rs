//! The demo's flows: each provider's documented life cycle, through the public SDK crates only,
//! the way an integrating merchant runs it. The sandbox stands in for the providers, a
//! [`Merchant`] receives the callbacks and notifications, and a [`Browser`] does the customer's
//! part on the sandbox's pages.
//!
//! [`catalog`] lists them with their expected outcomes; the end-to-end tests run the same
//! functions, alone and a thousand at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ktwidget::{CallbackSecret, CallbackTagger};
use payments_core::{Amount, Secret};
use payments_sandbox::ktwidget::{CARD_DECLINE, CARD_SUCCESS};
use payments_sandbox::{Sandbox, SandboxConfig};

use super::browser::{Browser, Page};
use super::merchant::Merchant;
use super::runner::{ensure, Flow, FlowError, FlowResult, Steps};

/// How long any single wait of a flow may take before the flow counts as diverged.
pub const WAIT: Duration = Duration::from_secs(20);

/// Everything the flows share: the sandbox, the merchant, the three clients and the browser.
pub struct Demo {
    /// The three emulators.
    pub sandbox: Sandbox,
    /// The merchant's receiver.
    pub merchant: Merchant,
    /// The customer's browser.
    pub browser: Browser,
    /// The Ktpay client.
    pub ktwidget: ktwidget::Client,
    /// The Smart Pay client (mTLS, cookie auth).
    pub smartpay: smartpay::Client,
    /// The Kupi-Kupi client.
    pub kupikupi: kupikupi::Client,
    ktwidget_callback_secret: CallbackSecret,
    kassa_ids: smartpay::KassaIdGenerator,
    run: String,
    seq: AtomicU64,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Starts the merchant and the sandbox (callbacks and notifications to the merchant, retry
    /// schedules multiplied by `time_scale`), and builds the three clients from the sandbox's
    /// [`payments_sandbox::SandboxInfo`], as an application would from its configuration.
    pub async fn start(time_scale: f64) -> Result<Demo, FlowError> {
        // Ktpay: one callback secret, shared by the client (which tags callback URLs) and the
        // merchant's receiver (which refuses callbacks without the tag). The merchant id is the
        // sandbox's (it starts from the emulator's default configuration).
        let ktwidget_callback_secret = CallbackSecret::generate();
        let ktpay_tagger = CallbackTagger::new(ktwidget_callback_secret.clone());
        let ktpay_merchant_id = payments_sandbox::ktwidget::Config::default().merchant_id();
        let merchant = Merchant::start(ktpay_tagger.clone(), ktpay_merchant_id).await?;
        let sandbox = Sandbox::start(
            SandboxConfig::default()
                .with_time_scale(time_scale)
                .with_ktwidget_callback_url(merchant.ktwidget_callback_url())
                .with_kupikupi_notification_url(merchant.kupikupi_notification_url()),
        )
        .await?;
        let info = sandbox.info().clone();

        let ktwidget = ktwidget::Client::builder()
            .app_id(info.ktwidget.app_id.as_str())
            .app_key_base64(&info.ktwidget.app_key)
            .environment(ktwidget::Environment::Custom(
                info.ktwidget.api_base.parse()?,
            ))
            .widget_url(info.ktwidget.widget_base.parse()?)
            .allow_plain_http_to_loopback() // the sandbox on 127.0.0.1
            .tag_callbacks(ktpay_tagger)
            .build()?;

        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        let smartpay = smartpay::Client::builder()
            .environment(smartpay::Environment::Custom(
                info.smartpay.api_base.as_str().parse()?,
            ))
            .client_identity_pem(
                read(&info.smartpay.client_cert_pem)?,
                Secret::from(read(&info.smartpay.client_key_pem)?),
            )
            .trust_only_ca_pem(read(&info.smartpay.ca_pem)?)
            .credentials(
                info.smartpay.auth.login.as_str(),
                Secret::from(info.smartpay.auth.password.as_str()),
            )
            .poll_policy(
                smartpay::DEFAULT_POLL_POLICY
                    .to_builder()
                    .interval(Duration::from_millis(20))
                    .max_interval(Duration::from_millis(200))
                    .build()?,
            )
            .build()?;

        let kupikupi = kupikupi::Client::builder()
            .platform_uid(info.kupikupi.platform_uid.as_str())
            .secret_key(Secret::from(info.kupikupi.secret_key.as_str()))
            .base_url(format!("{}/api/v1/transfer", info.kupikupi.api_base))
            // The sandbox serves plain http on 127.0.0.1; a real service is https only.
            .allow_plain_http_to_loopback()
            .build()?;
        // The merchant's notification endpoint confirms with the same client's checkout.
        merchant.connect_kupikupi(kupikupi.clone());

        Ok(Demo {
            sandbox,
            merchant,
            browser: Browser::new()?,
            ktwidget,
            smartpay,
            kupikupi,
            ktwidget_callback_secret,
            kassa_ids: smartpay::KassaIdGenerator::new(),
            run: format!("{:08x}", run_nonce()),
            seq: AtomicU64::new(1),
        })
    }

    /// A fresh order id: `<prefix>-<run>-<n>`.
    pub fn order_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}-{}",
            self.run,
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The Ktpay callback secret the client tags with and the merchant checks (for the SDK's
    /// leak test).
    pub fn ktwidget_callback_secret(&self) -> &CallbackSecret {
        &self.ktwidget_callback_secret
    }

    /// Stops the merchant and the sandbox.
    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
        self.merchant.shutdown().await;
    }
}

fn run_nonce() -> u32 {
    // Order ids only need to differ between runs against a long-lived sandbox; the clock's
    // nanoseconds are enough.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0)
}

/// A flow's body.
pub type FlowFuture = Pin<Box<dyn Future<Output = FlowResult> + Send>>;

/// One flow of the catalogue.
#[derive(Clone, Copy)]
pub struct Spec {
    /// The provider.
    pub provider: &'static str,
    /// The flow's name.
    pub name: &'static str,
    /// The outcome a correct integration observes.
    pub expected: &'static str,
    /// The body.
    pub run: fn(Arc<Demo>, Steps) -> FlowFuture,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.provider, self.name)
    }
}

/// Every flow of the demo, in the order it runs them.
pub fn catalog() -> Vec<Spec> {
    vec![
        Spec {
            provider: "ktwidget",
            name: "ecom payment + callback",
            expected: "completed",
            run: |d, s| Box::pin(ktwidget_ecom(d, s)),
        },
        Spec {
            provider: "ktwidget",
            name: "service payment",
            expected: "completed",
            run: |d, s| Box::pin(ktwidget_service(d, s)),
        },
        Spec {
            provider: "ktwidget",
            name: "declined card",
            expected: "error ERROR_PAYMENT",
            run: |d, s| Box::pin(ktwidget_declined(d, s)),
        },
        Spec {
            provider: "ktwidget",
            name: "callback after merchant failure",
            expected: "acknowledged on attempt 2",
            run: |d, s| Box::pin(ktwidget_redelivered(d, s)),
        },
        Spec {
            provider: "ktwidget",
            name: "forged callback",
            expected: "forgery refused, order unpaid",
            run: |d, s| Box::pin(ktwidget_forged(d, s)),
        },
        Spec {
            provider: "ktwidget",
            name: "refund",
            expected: "refunded 400.00 of 1000.00",
            run: |d, s| Box::pin(ktwidget_refund(d, s)),
        },
        Spec {
            provider: "smartpay",
            name: "QR purchase + fiscal receipt",
            expected: "success, receipt stored",
            run: |d, s| Box::pin(smartpay_purchase(d, s)),
        },
        Spec {
            provider: "smartpay",
            name: "refund with confirmation",
            expected: "refund success",
            run: |d, s| Box::pin(smartpay_refund(d, s)),
        },
        Spec {
            provider: "smartpay",
            name: "cancelled purchase",
            expected: "cancelled",
            run: |d, s| Box::pin(smartpay_cancelled(d, s)),
        },
        Spec {
            provider: "smartpay",
            name: "plain http with a client certificate",
            expected: REFUSED_BEFORE_ANY_CONNECTION,
            run: |d, s| Box::pin(smartpay_plain_http(d, s)),
        },
        Spec {
            provider: "kupikupi",
            name: "balance",
            expected: "1000000.00",
            run: |d, s| Box::pin(kupikupi_balance(d, s)),
        },
        Spec {
            provider: "kupikupi",
            name: "transfer 79000000001",
            expected: "CONFIRMED",
            run: |d, s| Box::pin(kupikupi_transfer(d, s, "79000000001")),
        },
        Spec {
            provider: "kupikupi",
            name: "transfer 79000000002",
            expected: "REJECTED",
            run: |d, s| Box::pin(kupikupi_transfer(d, s, "79000000002")),
        },
        Spec {
            provider: "kupikupi",
            name: "transfer 79000000003",
            expected: "CANCELED",
            run: |d, s| Box::pin(kupikupi_transfer(d, s, "79000000003")),
        },
        Spec {
            provider: "kupikupi",
            name: "forged notification",
            expected: "not credited",
            run: |d, s| Box::pin(kupikupi_forged(d, s)),
        },
    ]
}

/// The catalogue as runnable flows over one [`Demo`].
pub fn flows(demo: &Arc<Demo>) -> Vec<Flow> {
    catalog()
        .into_iter()
        .map(|spec| {
            let demo = demo.clone();
            Flow::new(spec.provider, spec.name, spec.expected, move |s| {
                (spec.run)(demo, s)
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ktpay

struct KtPaid {
    hash: ktwidget::TransactionHash,
    order_id: String,
    redirect: Page,
}

/// Creates a payment, opens the card page and pays with `card`, as the customer does.
async fn ktwidget_pay(
    demo: &Demo,
    s: &Steps,
    order: ktwidget::OrderBuilder,
    order_id: &str,
    amount: Amount,
    card: &str,
) -> Result<KtPaid, FlowError> {
    let m = &demo.merchant;
    s.step("create the payment (sealed box)");
    let order = order
        .description("payments demo")
        .callback_post_url(m.ktwidget_callback_url())
        .callback_force_success_url(m.success_url())
        .callback_force_failed_url(m.failed_url())
        .build()?;
    // The shop stores the order before creating the payment, so the callback can be checked
    // against it, and the hash once Ktpay answers.
    m.expect_ktwidget(order_id, amount);
    let created = demo.ktwidget.create_payment(&order).await?;
    m.ktwidget_created(order_id, &created.transaction_hash);

    s.step("open the card page");
    let page = demo.browser.get(created.widget_url.as_str()).await?;
    ensure(
        page.status == 200,
        format!("card page: HTTP {}", page.status),
    )?;
    let mut form = page.form()?;

    s.step("pay on the card page");
    form.set("card_number", card)?;
    let _ = form.set("expiry", "12/30");
    let _ = form.set("cvc", "123");
    let redirect = demo.browser.submit(&form).await?;
    ensure(
        redirect.status == 303,
        format!(
            "the card page answered HTTP {} (expected a redirect)",
            redirect.status
        ),
    )?;
    Ok(KtPaid {
        hash: created.transaction_hash,
        order_id: order_id.to_owned(),
        redirect,
    })
}

/// Waits for the callback to be applied and acknowledged, and checks the provider agrees.
async fn ktwidget_callback(demo: &Demo, s: &Steps, paid: &KtPaid) -> Result<String, FlowError> {
    s.step("callback: tag checked, matched to the order, recorded, acknowledged");
    let r = demo
        .merchant
        .wait_ktwidget(&paid.order_id, WAIT, |r| r.acknowledged >= 1)
        .await
        .ok_or("no acknowledged callback arrived")?;
    ensure(r.invalid == 0, "a callback failed verification")?;
    ensure(
        r.applied == 1,
        format!("the callback was applied {} times", r.applied),
    )?;
    let status = r.status.unwrap_or_default();

    s.step("the provider's view of the transaction");
    let n = demo.ktwidget.payment_status(&paid.hash).await?;
    ensure(
        n.status.status.as_str() == status,
        format!(
            "the callback said {status}, the status call {}",
            n.status.status
        ),
    )?;
    Ok(status)
}

async fn ktwidget_ecom(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let order_id = demo.order_id("kt-ecom");
    let amount: Amount = "1000.50".parse()?;
    let order = ktwidget::Order::builder(order_id.as_str(), amount);
    let paid = ktwidget_pay(&demo, &s, order, &order_id, amount, CARD_SUCCESS).await?;
    ensure(
        paid.redirect.location.as_deref() == Some(demo.merchant.success_url().as_str()),
        format!(
            "the card page sent the customer to {:?}, not the success URL",
            paid.redirect.location
        ),
    )?;
    s.step("the shop's success page");
    let shop = demo
        .browser
        .get(paid.redirect.location.as_deref().unwrap_or_default())
        .await?;
    ensure(
        shop.status == 200,
        format!("shop page: HTTP {}", shop.status),
    )?;
    let status = ktwidget_callback(&demo, &s, &paid).await?;

    s.step("the receipt (PDF)");
    let pdf = demo.ktwidget.receipt_pdf(&paid.hash).await?;
    ensure(pdf.starts_with(b"%PDF-"), "the receipt is not a PDF")?;
    Ok(status)
}

async fn ktwidget_service(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let order_id = demo.order_id("kt-service");
    let amount: Amount = "2500".parse()?;
    let order = ktwidget::Order::builder(order_id.as_str(), amount).service(42, "7700123456");
    let paid = ktwidget_pay(&demo, &s, order, &order_id, amount, CARD_SUCCESS).await?;
    ktwidget_callback(&demo, &s, &paid).await
}

async fn ktwidget_declined(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let order_id = demo.order_id("kt-declined");
    let amount: Amount = "99.99".parse()?;
    let order = ktwidget::Order::builder(order_id.as_str(), amount);
    let paid = ktwidget_pay(&demo, &s, order, &order_id, amount, CARD_DECLINE).await?;
    ensure(
        paid.redirect.location.as_deref() == Some(demo.merchant.failed_url().as_str()),
        format!(
            "the card page sent the customer to {:?}, not the failure URL",
            paid.redirect.location
        ),
    )?;
    let status = ktwidget_callback(&demo, &s, &paid).await?;
    let n = demo.ktwidget.payment_status(&paid.hash).await?;
    let kind = n
        .status
        .error
        .and_then(|e| e.error_type)
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| "no error type".into());
    Ok(format!("{status} {kind}"))
}

/// Issue 11's attack: the customer knows the order id, the amount and the hash (it is in the
/// widget URL their browser opens) and the shop's callback route. A `completed` callback made
/// of those passes every check against the stored order; it is refused only because it lacks
/// the tag that travels, sealed, in `callback_post_url`. The outcome is `ok` only when both
/// forgeries were refused and the order is still unpaid.
async fn ktwidget_forged(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let m = &demo.merchant;
    let order_id = demo.order_id("kt-forged");
    let amount: Amount = "4990".parse()?;
    s.step("create the payment (sealed box, tagged callback URL)");
    let order = ktwidget::Order::builder(order_id.as_str(), amount)
        .description("payments demo")
        .callback_post_url(m.ktwidget_callback_url())
        .callback_force_success_url(m.success_url())
        .callback_force_failed_url(m.failed_url())
        .build()?;
    m.expect_ktwidget(&order_id, amount);
    let created = demo.ktwidget.create_payment(&order).await?;
    m.ktwidget_created(&order_id, &created.transaction_hash);

    s.step("the customer opens the card page and reads the hash in its URL");
    let page = demo.browser.get(created.widget_url.as_str()).await?;
    ensure(
        page.status == 200,
        format!("card page: HTTP {}", page.status),
    )?;
    let hash = created
        .widget_url
        .query_pairs()
        .find(|(k, _)| k == "hash")
        .map(|(_, v)| v)
        .ok_or("the widget URL has no hash")?;

    s.step("the customer POSTs a `completed` callback from their browser");
    let forged = serde_json::json!({
        "merchant_id": payments_sandbox::ktwidget::Config::default().merchant_id(),
        "order_id": order_id,
        "description": "payments demo",
        "amount": 4990,
        "transaction_hash": hash,
        "created_at": "2026-12-01T10:00:00+05:00",
        "updated_at": null,
        "status": {
            "status": "completed",
            "created_at": "2026-12-01T10:01:00+05:00",
            "updated_at": null,
            "error": null
        }
    })
    .to_string();
    let untagged = demo
        .browser
        .post_json(&m.ktwidget_callback_url(), forged.clone())
        .await?;
    let guessed_url = format!(
        "{}?{}={}",
        m.ktwidget_callback_url(),
        ktwidget::DEFAULT_TAG_PARAMETER,
        "0".repeat(64)
    );
    let guessed = demo.browser.post_json(&guessed_url, forged).await?;
    ensure(
        untagged.status == 403 && guessed.status == 403,
        format!(
            "the merchant answered the forgeries with HTTP {} and {} (expected 403)",
            untagged.status, guessed.status
        ),
    )?;

    s.step("the order is still unpaid");
    let r = m.ktwidget(&order_id).ok_or("the merchant lost the order")?;
    ensure(
        r.applied == 0 && r.status.is_none() && r.acknowledged == 0 && r.invalid == 2,
        format!("a forged callback changed the order: {r:?}"),
    )?;
    let t = demo
        .ktwidget
        .payment_status(&created.transaction_hash)
        .await?;
    ensure(
        t.status.status == ktwidget::Status::Pending,
        format!("Ktpay holds the payment as {}", t.status.status),
    )?;

    s.step("the shop cancels the unpaid order (provisional endpoint)");
    demo.ktwidget
        .cancel_payment(&created.transaction_hash)
        .await?;
    let r = m
        .wait_ktwidget(&order_id, WAIT, |r| r.acknowledged >= 1)
        .await
        .ok_or("the cancellation's callback never arrived")?;
    ensure(
        r.status.as_deref() == Some("denied") && r.applied == 1,
        format!("after the cancellation the order is {:?}", r.status),
    )?;
    Ok("forgery refused, order unpaid".to_string())
}

async fn ktwidget_redelivered(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let order_id = demo.order_id("kt-retry");
    let amount: Amount = "10".parse()?;
    // The merchant's first answer is HTTP 500: Ktpay must deliver the callback again.
    demo.merchant.fail_first_ktwidget(&order_id, 1);
    let order = ktwidget::Order::builder(order_id.as_str(), amount);
    let paid = ktwidget_pay(&demo, &s, order, &order_id, amount, CARD_SUCCESS).await?;
    s.step("the first callback is refused by the merchant (HTTP 500)");
    demo.merchant
        .wait_ktwidget(&order_id, WAIT, |r| r.refused >= 1)
        .await
        .ok_or("the first callback never arrived")?;
    s.step("wait for Ktpay's next attempt (15 s, time-scaled)");
    ktwidget_callback(&demo, &s, &paid).await?;
    let r = demo
        .merchant
        .ktwidget(&order_id)
        .ok_or("the merchant lost the order")?;
    ensure(
        r.acknowledged == 1 && r.applied == 1,
        "the callback was not applied exactly once",
    )?;
    Ok(format!("acknowledged on attempt {}", r.deliveries))
}

async fn ktwidget_refund(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let order_id = demo.order_id("kt-refund");
    let amount: Amount = "1000".parse()?;
    let order = ktwidget::Order::builder(order_id.as_str(), amount);
    let paid = ktwidget_pay(&demo, &s, order, &order_id, amount, CARD_SUCCESS).await?;
    let status = ktwidget_callback(&demo, &s, &paid).await?;
    ensure(status == "completed", format!("the payment is {status}"))?;
    s.step("refund 400.00 (provisional endpoint)");
    let refund = demo
        .ktwidget
        .refund_payment(&paid.hash, "400".parse()?)
        .await?;
    let total = refund
        .refunded_total
        .or(refund.amount)
        .ok_or("the refund answer carries no amount")?;
    Ok(format!("refunded {total} of {amount}"))
}

// ---------------------------------------------------------------------------------------------
// Smart Pay

fn qr(demo: &Demo) -> Result<smartpay::QrCode, FlowError> {
    // What the kassa's scanner reads from the customer's phone; unique per purchase. Hex digits
    // are valid base64, so a 16-digit hex string is a 12-byte payload.
    let n = demo.seq.fetch_add(1, Ordering::Relaxed);
    let encrypted = format!("{:08x}{:08x}", run_nonce(), n);
    Ok(smartpay::QrCode::from_parts(
        "7000123",
        &encrypted,
        "c2lnbmF0dXJl",
    )?)
}

async fn smartpay_paid(
    demo: &Demo,
    s: &Steps,
    amount: Amount,
) -> Result<smartpay::ConfirmedPurchase, FlowError> {
    s.step("mTLS connection and /v1/auth");
    demo.smartpay.auth().await?;
    s.step("commit the scanned QR code");
    let committed = demo
        .smartpay
        .commit_code(&qr(demo)?, &demo.kassa_ids.next_id())
        .await?;
    s.step("release the amount");
    let mut released = committed.release(amount).await?;
    s.step("poll the purchase status");
    let outcome = released.wait_for_status(WAIT).await?;
    ensure(
        outcome == smartpay::PurchaseOutcome::Paid,
        format!("the purchase ended {outcome:?}"),
    )?;
    s.step("confirm at the kassa");
    Ok(released.confirm().await?)
}

async fn smartpay_purchase(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let paid = smartpay_paid(&demo, &s, Amount::from_minor(125_050)).await?;
    s.step("send the fiscal receipt");
    paid.send_fiscal("0000000001012345", "3522589123").await?;
    let stored = demo
        .sandbox
        .smartpay()
        .receipts()
        .iter()
        .any(|r| r.body.to_string().contains(paid.purchase_id()));
    ensure(stored, "the provider holds no receipt for the purchase")?;
    let view = demo
        .sandbox
        .smartpay()
        .purchase(paid.purchase_id())
        .ok_or("the provider lost the purchase")?;
    Ok(format!("{}, receipt stored", view.status))
}

async fn smartpay_refund(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let paid = smartpay_paid(&demo, &s, Amount::from_minor(100_000)).await?;
    s.step("request a refund of 500.00");
    let mut refund = paid
        .refund(&demo.kassa_ids.next_id(), Amount::from_minor(50_000))
        .await?;
    s.step("poll the refund status");
    let outcome = refund.wait_for_status(WAIT).await?;
    ensure(
        outcome == smartpay::RefundOutcome::Refunded,
        format!("the refund ended {outcome:?}"),
    )?;
    s.step("confirm the refund at the kassa");
    let confirmed = refund
        .confirm()
        .await?
        .ok_or("the confirmation's answer carries no status")?;
    Ok(format!("refund {confirmed}"))
}

async fn smartpay_cancelled(demo: Arc<Demo>, s: Steps) -> FlowResult {
    s.step("commit the scanned QR code");
    let committed = demo
        .smartpay
        .commit_code(&qr(&demo)?, &demo.kassa_ids.next_id())
        .await?;
    let id = committed.purchase_id().to_owned();
    s.step("the customer walks away: cancel at the kassa");
    let status = committed
        .cancel()
        .await?
        .ok_or("the cancel answer carries no status")?;
    let view = demo
        .sandbox
        .smartpay()
        .purchase(&id)
        .ok_or("the provider lost the purchase")?;
    ensure(
        view.status == status.as_str(),
        format!("the kassa saw {status}, the provider holds {}", view.status),
    )?;
    Ok(status.to_string())
}

/// What the plain-http flow observes when the rule holds.
const REFUSED_BEFORE_ANY_CONNECTION: &str = "refused before any connection";

/// A kassa configured with the guide's `http://` form of a host, its client certificate and its
/// password: the client must refuse to be built, so that neither the password nor the session
/// cookie travels in clear (and the certificate, which only TLS can present, is not silently
/// left out). A listener on 127.0.0.1 counts the connections that reach it.
async fn smartpay_plain_http(demo: Arc<Demo>, s: Steps) -> FlowResult {
    s.step("a listener on 127.0.0.1 that counts connections");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let accepts = Arc::new(AtomicU64::new(0));
    let counter = {
        let accepts = accepts.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                accepts.fetch_add(1, Ordering::SeqCst);
                drop(tcp);
            }
        })
    };
    let info = demo.sandbox.info().clone();
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let (cert, key) = (
        read(&info.smartpay.client_cert_pem)?,
        read(&info.smartpay.client_key_pem)?,
    );
    let base: smartpay::BaseUrl = base.parse()?;
    let builder = || {
        smartpay::Client::builder()
            .environment(smartpay::Environment::Custom(base.clone()))
            .client_identity_pem(cert.clone(), Secret::from(key.clone()))
            .credentials(
                info.smartpay.auth.login.as_str(),
                Secret::from(info.smartpay.auth.password.as_str()),
            )
    };

    s.step("build a client for http:// with the certificate and the password");
    let plain = builder().build();
    s.step("the same with the opt-in for plain http to loopback");
    let opted_in = builder().allow_plain_http_to_loopback().build();
    let mut built = 0;
    for attempt in [plain, opted_in] {
        match attempt {
            Err(smartpay::Error::Invalid(_)) => {}
            Err(other) => return Err(format!("refused for another reason: {other}").into()),
            // What the rule prevents: the client would log in over the connection.
            Ok(client) => {
                built += 1;
                let _ = client.auth().await;
            }
        }
    }

    s.step("count the connections");
    tokio::time::sleep(Duration::from_millis(50)).await;
    counter.abort();
    let connections = accepts.load(Ordering::SeqCst);
    if built == 0 && connections == 0 {
        Ok(REFUSED_BEFORE_ANY_CONNECTION.to_owned())
    } else {
        Ok(format!(
            "{built} clients built, {connections} connections in clear"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Kupi-Kupi

async fn kupikupi_balance(demo: Arc<Demo>, s: Steps) -> FlowResult {
    s.step("balance of 79000000001");
    let phone = kupikupi::Phone::new("79000000001")?;
    Ok(demo.kupikupi.balance(&phone).await?.to_string())
}

async fn kupikupi_transfer(demo: Arc<Demo>, s: Steps, phone: &'static str) -> FlowResult {
    let phone = kupikupi::Phone::new(phone)?;
    let order_id = demo.order_id("kk");
    let order = kupikupi::OrderId::new(order_id.as_str())?;
    let amount = kupikupi::TransferAmount::from_minor(25_000)?;
    s.step("balance");
    demo.kupikupi.balance(&phone).await?;
    s.step("init the transfer");
    // The shop stores the order first: the notification is checked against it, and
    // `checkout` is asked with its amount.
    demo.merchant.expect_kupikupi(&order_id, amount);
    let transfer = demo.kupikupi.init(&phone, &order, amount).await?;

    s.step("open the transfer form");
    let page = demo.browser.get(&transfer.transfer_url.to_string()).await?;
    ensure(
        page.status == 200,
        format!("transfer form: HTTP {}", page.status),
    )?;
    let mut form = page.form()?;
    s.step("enter the code sent to the customer");
    form.set("code", demo.sandbox.kupikupi().confirmation_code())?;
    let answer = demo.browser.submit(&form).await?;
    ensure(
        answer.status == 200,
        format!("the form answered HTTP {}", answer.status),
    )?;

    s.step("notification: a hint, answered OK, then confirmed with checkout");
    let r = demo
        .merchant
        .wait_kupikupi(&order_id, WAIT, |r| r.status.is_some() || r.unresolved > 0)
        .await
        .ok_or("the merchant lost the order")?;
    ensure(r.acknowledged >= 1, "no notification was answered OK")?;
    ensure(r.invalid == 0, "the endpoint refused a notification")?;
    ensure(r.unresolved == 0, "checkout gave no final status in time")?;
    let status = r.status.unwrap_or_default();
    ensure(
        r.credited == (status == "CONFIRMED"),
        format!("checkout said {status}, but credited is {}", r.credited),
    )?;

    s.step("checkout");
    let checkout = demo.kupikupi.checkout(&order, amount).await?;
    ensure(
        checkout.transfer_status.as_str() == status,
        format!(
            "the merchant applied {status}, checkout now says {}",
            checkout.transfer_status.as_str()
        ),
    )?;
    Ok(status)
}

/// Anyone can POST a notification: the guide documents no signature, and the platform uid is
/// no secret. A CONFIRMED notification for a transfer whose code was never entered must not
/// credit the order.
async fn kupikupi_forged(demo: Arc<Demo>, s: Steps) -> FlowResult {
    let phone = kupikupi::Phone::new("79000000001")?;
    let order_id = demo.order_id("kk-forged");
    let order = kupikupi::OrderId::new(order_id.as_str())?;
    let amount = kupikupi::TransferAmount::from_minor(25_000)?;
    s.step("init the transfer (the customer never enters the code)");
    demo.merchant.expect_kupikupi(&order_id, amount);
    demo.kupikupi.init(&phone, &order, amount).await?;

    s.step("POST a forged CONFIRMED notification to the merchant");
    let forged = serde_json::json!({
        "status": true, "transferStatus": "CONFIRMED", "errorCode": "0",
        "uidPlatform": demo.kupikupi.platform_uid(), "orderId": order_id,
    });
    let answer = demo
        .browser
        .post_json(
            &demo.merchant.kupikupi_notification_url(),
            forged.to_string(),
        )
        .await?;
    if answer.status == 200 {
        // It looks like any notification, so it is answered OK; checkout decides.
        s.step("the merchant's checkout: the transfer is not confirmed");
        demo.merchant
            .wait_kupikupi(&order_id, WAIT, |r| r.status.is_some() || r.unresolved > 0)
            .await
            .ok_or("the merchant lost the order")?;
    }
    let r = demo
        .merchant
        .kupikupi(&order_id)
        .ok_or("the merchant lost the order")?;
    if r.credited {
        return Ok("credited".into());
    }
    s.step("the provider's view of the transfer");
    let checkout = demo.kupikupi.checkout(&order, amount).await?;
    ensure(
        !checkout.transfer_status.is_confirmed(),
        "the transfer became CONFIRMED at the provider",
    )?;
    Ok("not credited".into())
}
