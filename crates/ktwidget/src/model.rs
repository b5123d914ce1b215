//! The data: the payment order [`crate::Client::create_payment`] seals and sends, and Ktpay's
//! view of a transaction ([`Transaction`], [`Status`]).
//!
//! Every rule Ktpay's validation applies that the SDK can know is checked once, when a value is
//! built: non-empty ids, a positive amount with at most two decimals (guaranteed by [`Amount`]),
//! absolute `http(s)` callback URLs, a phone normalised to `+` and digits, and a `service`
//! object exactly when `type = service` (the [`PaymentKind::Service`] variant).

use std::collections::BTreeMap;
use std::fmt;

use payments_core::Amount;

mod web_url;
pub use web_url::WebUrl;
pub(crate) use web_url::{encode_path_segment, form_encode, form_pairs};

/// Field-level validation failures, collected the way Ktpay's own `validation` map is:
/// field name → messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid order: {}", summary(.fields))]
#[non_exhaustive]
pub struct ValidationError {
    /// Field name (as on the wire, e.g. `order_id`, `callback_post_url`) → messages.
    pub fields: BTreeMap<String, Vec<String>>,
}

fn summary(fields: &BTreeMap<String, Vec<String>>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.join("; ")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ValidationError {
    /// One failure.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = ValidationError::default();
        e.push(field, message);
        e
    }

    /// Adds a failure.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether there are no failures.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether `field` failed.
    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    fn into_result<T>(self, ok: T) -> Result<T, ValidationError> {
        if self.is_empty() {
            Ok(ok)
        } else {
            Err(self)
        }
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::single(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::single(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::single(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_order_id(value: &str) -> Result<(), ValidationError> {
    check_text("order_id", value, 255)
}

fn check_transaction_hash(value: &str) -> Result<(), ValidationError> {
    check_text("transaction_hash", value, 255)
}

fn check_contract_value(value: &str) -> Result<(), ValidationError> {
    check_text("service.contract_value", value, 255)
}

// Each is checked once when built: not empty or blank, no control characters, at most 255
// characters.
payments_core::checked_newtype! {
    /// The merchant's order id (`order_id`): unique per payment, chosen by the merchant.
    pub struct OrderId(String) checked_by check_order_id => ValidationError;
}
payments_core::checked_newtype! {
    /// Ktpay's id of a transaction (`transaction_hash`), e.g. `af7ed500aa9f2132fae4b63e936af641bcc4ebaf`.
    pub struct TransactionHash(String) checked_by check_transaction_hash => ValidationError;
}
payments_core::checked_newtype! {
    /// The contract number for a `service` payment (`service.contract_value`): a phone number for a
    /// mobile operator, an account number for a utility...
    pub struct ContractValue(String) checked_by check_contract_value => ValidationError;
}

/// A Ktpay service id (`service.service_id`). Ask your Ktpay manager for the list.
///
/// The widget guide types it as a number, and the API reference's own example sends the string
/// `"1"`, so it is accepted from either: a positive integer, or its decimal digits as text
/// (surrounding whitespace ignored). It is always sent as a JSON number, the guide's type.
///
/// ```
/// use ktwidget::ServiceId;
/// assert_eq!(ServiceId::new(1)?, "1".parse::<ServiceId>()?);
/// assert_eq!(ServiceId::try_from(" 42 ")?.get(), 42);
/// assert!("0".parse::<ServiceId>().is_err());
/// assert!("1.5".parse::<ServiceId>().is_err());
/// assert!(ServiceId::try_from(-3).is_err());
/// # Ok::<(), ktwidget::ValidationError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(u64);

const SERVICE_ID: &str = "service.service_id";

impl ServiceId {
    /// A service id; zero is refused.
    pub fn new(id: u64) -> Result<Self, ValidationError> {
        if id == 0 {
            Err(ValidationError::single(
                SERVICE_ID,
                "must be a positive number",
            ))
        } else {
            Ok(ServiceId(id))
        }
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::str::FromStr for ServiceId {
    type Err = ValidationError;

    /// Reads the decimal digits of a positive integer (`"1"`), surrounding whitespace ignored.
    fn from_str(text: &str) -> Result<Self, ValidationError> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::single(
                SERVICE_ID,
                "must be a positive integer (a number, or its digits as text)",
            ));
        }
        let id = t
            .parse::<u64>()
            .map_err(|_| ValidationError::single(SERVICE_ID, "is too large for a service id"))?;
        ServiceId::new(id)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! service_id_from_int {
    ($($t:ty),*) => {$(
        impl TryFrom<$t> for ServiceId {
            type Error = ValidationError;
            fn try_from(id: $t) -> Result<Self, ValidationError> {
                let id = u64::try_from(id).map_err(|_| {
                    ValidationError::single(SERVICE_ID, "must be a positive number")
                })?;
                ServiceId::new(id)
            }
        }
    )*};
}
service_id_from_int!(u32, u64, i32, i64, usize);

impl TryFrom<&str> for ServiceId {
    type Error = ValidationError;
    fn try_from(text: &str) -> Result<Self, ValidationError> {
        text.parse()
    }
}

impl TryFrom<String> for ServiceId {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, ValidationError> {
        text.parse()
    }
}

impl TryFrom<&String> for ServiceId {
    type Error = ValidationError;
    fn try_from(text: &String) -> Result<Self, ValidationError> {
        text.parse()
    }
}

impl From<ValidationError> for payments_core::Invalid {
    /// One problem per message, under the field's wire name.
    fn from(value: ValidationError) -> Self {
        let mut problems = value
            .fields
            .into_iter()
            .flat_map(|(field, messages)| messages.into_iter().map(move |m| (field.clone(), m)));
        let Some((field, message)) = problems.next() else {
            return payments_core::Invalid::new("order", "is invalid");
        };
        problems.fold(payments_core::Invalid::new(field, message), |i, (f, m)| {
            i.with(f, m)
        })
    }
}

impl From<payments_core::Invalid> for ValidationError {
    fn from(value: payments_core::Invalid) -> Self {
        let mut e = ValidationError::default();
        for p in value.problems() {
            e.push(&p.field, p.message.clone());
        }
        e
    }
}

impl From<std::convert::Infallible> for ValidationError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// The payment mode (`type`): a sale of the merchant's own goods, or a payment to a Ktpay
/// service. The service's fields exist only in the variant that requires them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentKind {
    /// `type = "ecom"`: payment for the merchant's goods or services.
    Ecom,
    /// `type = "service"`: payment to a Ktpay service (mobile top-up, utilities...). The card
    /// is charged after the service's accrual succeeds.
    Service {
        /// `service.service_id`.
        service_id: ServiceId,
        /// `service.contract_value`.
        contract_value: ContractValue,
    },
}

impl PaymentKind {
    /// The wire value of `type`.
    pub fn wire_type(&self) -> &'static str {
        match self {
            PaymentKind::Ecom => "ecom",
            PaymentKind::Service { .. } => "service",
        }
    }
}

/// The URLs Ktpay calls or redirects to. Any left out falls back to the merchant's settings at
/// Ktpay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackUrls {
    /// `callback_post_url`: where Ktpay POSTs the final status (see [`crate::CallbackReceiver`]; with [`crate::ClientBuilder::tag_callbacks`] it is sent with the order's tag).
    pub post: Option<WebUrl>,
    /// `callback_back_url`: where the customer returns to the merchant's site.
    pub back: Option<WebUrl>,
    /// `callback_success_url`: where a successful payment returns.
    pub success: Option<WebUrl>,
    /// `callback_failed_url`: where a failed payment returns.
    pub failed: Option<WebUrl>,
    /// `callback_force_back_url`: redirect at once, skipping the widget's result page.
    pub force_back: Option<WebUrl>,
    /// `callback_force_success_url`: redirect a success at once.
    pub force_success: Option<WebUrl>,
    /// `callback_force_failed_url`: redirect a failure at once.
    pub force_failed: Option<WebUrl>,
}

/// Normalises a phone as written by people into `+` and digits: spaces, hyphens and parentheses
/// are removed, and a number without `+` whose 11 digits begin with `8` (the Kazakh and Russian
/// trunk form) becomes `+7…`. The result has 5 to 15 digits (E.164's maximum).
///
/// ```
/// use ktwidget::normalise_phone;
/// assert_eq!(normalise_phone("+7 777 888 99 00").unwrap(), "+77778889900");
/// assert_eq!(normalise_phone("8 (777) 888-99-00").unwrap(), "+77778889900");
/// assert_eq!(normalise_phone("77778889900").unwrap(), "+77778889900");
/// assert_eq!(normalise_phone("+86 138 0013 8000").unwrap(), "+8613800138000"); // `+8…` is a country code
/// assert!(normalise_phone("12ab").is_err());
/// ```
pub fn normalise_phone(text: &str) -> Result<String, &'static str> {
    let mut compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\t' | '-' | '(' | ')'))
        .collect();
    let plus = compact.starts_with('+');
    if plus {
        compact.remove(0);
    }
    if compact.len() < 5 || compact.len() > 15 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be 5 to 15 digits, optionally after '+' (spaces, hyphens and parentheses are allowed)");
    }
    if !plus && compact.len() == 11 && compact.starts_with('8') {
        compact.replace_range(..1, "7");
    }
    Ok(format!("+{compact}"))
}

/// The optional `user` object: who pays, in the merchant's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// `merchant_user_id`.
    pub merchant_user_id: Option<String>,
    /// `phone`, e.g. `+77778889900`. Written as people write it: [`OrderBuilder::build`]
    /// removes spaces, hyphens and parentheses, reads a number without `+` whose 11 digits begin
    /// with `8` as the Kazakh (and Russian) trunk form `8 XXX…` = `+7 XXX…`, and sends `+` and
    /// 5 to 15 digits. Write other countries' numbers with `+` and the country code.
    pub phone: Option<String>,
    /// `email`.
    pub email: Option<String>,
}

impl User {
    /// A user with only a merchant id.
    pub fn with_id(merchant_user_id: impl Into<String>) -> Self {
        User {
            merchant_user_id: Some(merchant_user_id.into()),
            ..User::default()
        }
    }

    /// Sets the phone.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Checks every field, normalising the phone.
    fn validate(&mut self, errors: &mut ValidationError) {
        if let Some(id) = &self.merchant_user_id {
            if let Err(e) = check_text("user.merchant_user_id", id, 255) {
                errors.fields.extend(e.fields);
            }
        }
        if let Some(phone) = &mut self.phone {
            match normalise_phone(phone) {
                Ok(normal) => *phone = normal,
                Err(why) => errors.push("user.phone", why),
            }
        }
        if let Some(email) = &self.email {
            let ok = email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                errors.push("user.email", "is not an email address");
            }
        }
    }
}

/// A validated payment order. Build it with [`Order::builder`].
///
/// ```
/// use ktwidget::{Order, PaymentKind};
/// let order = Order::builder("Order1", "1000.5".parse()?)
///     .service(1, "17-25022")
///     .description("Тестовая оплата за Order1")
///     .callback_post_url("https://site.com/callback_post_url")
///     .show_close_button(false)
///     .build()?;
/// assert_eq!(order.amount().minor(), 100_050);
/// assert!(matches!(order.kind(), PaymentKind::Service { .. }));
///
/// // Everything wrong is reported at once, keyed like Ktpay's `validation` map.
/// let err = Order::builder("", payments_core::Amount::ZERO)
///     .callback_post_url("ftp://x")
///     .build()
///     .unwrap_err();
/// assert!(err.has("order_id") && err.has("amount") && err.has("callback_post_url"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub(crate) order_id: OrderId,
    pub(crate) amount: Amount,
    pub(crate) kind: PaymentKind,
    pub(crate) description: Option<String>,
    pub(crate) callbacks: CallbackUrls,
    pub(crate) show_close_button: Option<bool>,
    pub(crate) user: Option<User>,
}

impl Order {
    /// Starts an `ecom` order; call [`OrderBuilder::service`] for a service payment.
    pub fn builder(order_id: impl Into<String>, amount: Amount) -> OrderBuilder {
        OrderBuilder {
            order_id: order_id.into(),
            amount,
            service: None,
            description: None,
            urls: Vec::new(),
            show_close_button: None,
            user: None,
        }
    }

    /// `order_id`.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }
    /// `amount`.
    pub fn amount(&self) -> Amount {
        self.amount
    }
    /// `type` and `service`.
    pub fn kind(&self) -> &PaymentKind {
        &self.kind
    }
    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// The callback and redirect URLs.
    pub fn callbacks(&self) -> &CallbackUrls {
        &self.callbacks
    }
    /// `show_close_button` (`None`: not sent, Ktpay's default is `true`).
    pub fn show_close_button(&self) -> Option<bool> {
        self.show_close_button
    }
    /// `user`.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }
}

#[derive(Clone, Copy, Debug)]
enum UrlField {
    Post,
    Back,
    Success,
    Failed,
    ForceBack,
    ForceSuccess,
    ForceFailed,
}

impl UrlField {
    fn name(self) -> &'static str {
        match self {
            UrlField::Post => "callback_post_url",
            UrlField::Back => "callback_back_url",
            UrlField::Success => "callback_success_url",
            UrlField::Failed => "callback_failed_url",
            UrlField::ForceBack => "callback_force_back_url",
            UrlField::ForceSuccess => "callback_force_success_url",
            UrlField::ForceFailed => "callback_force_failed_url",
        }
    }
}

/// Builds an [`Order`]; [`OrderBuilder::build`] checks every field and reports all failures.
#[derive(Clone, Debug)]
pub struct OrderBuilder {
    order_id: String,
    amount: Amount,
    service: Option<(Result<ServiceId, ValidationError>, String)>,
    description: Option<String>,
    urls: Vec<(UrlField, String)>,
    show_close_button: Option<bool>,
    user: Option<User>,
}

impl OrderBuilder {
    /// Makes it a `service` payment to Ktpay service `service_id` for contract `contract_value`.
    /// The id may be a number (`1`) or its digits as text (`"1"`, as in Ktpay's API reference);
    /// it is checked in [`OrderBuilder::build`] ([`ServiceId`]).
    pub fn service<I>(mut self, service_id: I, contract_value: impl Into<String>) -> Self
    where
        I: TryInto<ServiceId>,
        I::Error: Into<ValidationError>,
    {
        self.service = Some((
            service_id.try_into().map_err(Into::into),
            contract_value.into(),
        ));
        self
    }
    /// `description`.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
    /// `callback_post_url`: where the final status is POSTed.
    pub fn callback_post_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::Post, url)
    }
    /// `callback_back_url`.
    pub fn callback_back_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::Back, url)
    }
    /// `callback_success_url`.
    pub fn callback_success_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::Success, url)
    }
    /// `callback_failed_url`.
    pub fn callback_failed_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::Failed, url)
    }
    /// `callback_force_back_url`.
    pub fn callback_force_back_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::ForceBack, url)
    }
    /// `callback_force_success_url`.
    pub fn callback_force_success_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::ForceSuccess, url)
    }
    /// `callback_force_failed_url`.
    pub fn callback_force_failed_url(self, url: impl Into<String>) -> Self {
        self.url(UrlField::ForceFailed, url)
    }
    /// `show_close_button` (Ktpay's default is `true`).
    pub fn show_close_button(mut self, show: bool) -> Self {
        self.show_close_button = Some(show);
        self
    }
    /// The optional `user` object.
    pub fn user(mut self, user: User) -> Self {
        self.user = Some(user);
        self
    }

    fn url(mut self, field: UrlField, url: impl Into<String>) -> Self {
        self.urls.retain(|(f, _)| f.name() != field.name());
        self.urls.push((field, url.into()));
        self
    }

    /// Checks every field and returns the order, or every failure at once.
    pub fn build(self) -> Result<Order, ValidationError> {
        let mut errors = ValidationError::default();
        let order_id = OrderId::new(self.order_id)
            .map_err(|e| errors.fields.extend(e.fields))
            .ok();
        if self.amount.is_zero() {
            errors.push("amount", "must be greater than zero");
        }
        let kind = match self.service {
            None => Some(PaymentKind::Ecom),
            Some((id, contract)) => {
                let id = id.map_err(|e| errors.fields.extend(e.fields)).ok();
                let contract = ContractValue::new(contract)
                    .map_err(|e| errors.fields.extend(e.fields))
                    .ok();
                match (id, contract) {
                    (Some(service_id), Some(contract_value)) => Some(PaymentKind::Service {
                        service_id,
                        contract_value,
                    }),
                    _ => None,
                }
            }
        };
        if let Some(d) = &self.description {
            if d.chars().count() > 1000 {
                errors.push("description", "must be at most 1000 characters");
            }
        }
        let mut callbacks = CallbackUrls::default();
        for (field, text) in &self.urls {
            match WebUrl::parse(field.name(), text).map_err(ValidationError::from) {
                Ok(u) => {
                    let slot = match field {
                        UrlField::Post => &mut callbacks.post,
                        UrlField::Back => &mut callbacks.back,
                        UrlField::Success => &mut callbacks.success,
                        UrlField::Failed => &mut callbacks.failed,
                        UrlField::ForceBack => &mut callbacks.force_back,
                        UrlField::ForceSuccess => &mut callbacks.force_success,
                        UrlField::ForceFailed => &mut callbacks.force_failed,
                    };
                    *slot = Some(u);
                }
                Err(e) => errors.fields.extend(e.fields),
            }
        }
        let mut user = self.user;
        if let Some(user) = &mut user {
            user.validate(&mut errors);
        }
        match (order_id, kind) {
            (Some(order_id), Some(kind)) => errors.into_result(Order {
                order_id,
                amount: self.amount,
                kind,
                description: self.description,
                callbacks,
                show_close_button: self.show_close_button,
                user,
            }),
            _ => Err(errors),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

/// What [`crate::Client::create_payment`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentCreated {
    /// Ktpay's id of the transaction. Store it with the order.
    pub transaction_hash: TransactionHash,
    /// Whether the widget shows its close button.
    pub show_close_button: bool,
    /// The widget page to send the customer to: `{widget}/payment-card?hash=<hash>`.
    pub widget_url: WebUrl,
}

/// What the provisional [`crate::Client::refund_payment`] returns. Every field is optional because the
/// answer's shape was never published.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refund {
    /// The transaction refunded.
    pub transaction_hash: Option<TransactionHash>,
    /// The amount of this refund.
    pub amount: Option<Amount>,
    /// All refunds of the transaction so far.
    pub refunded_total: Option<Amount>,
    /// The transaction's status after the refund.
    pub status: Option<Status>,
}

// ---------------------------------------------------------------------------------------------
// Ktpay's view of a transaction

payments_core::open_enum!(
    /// A transaction's status (`status.status`).
    ///
    /// ```
    /// use ktwidget::Status;
    /// assert!(Status::from_wire("completed").is_final());
    /// assert!(!Status::from_wire("authorized").is_final());
    /// let s = Status::from_wire("refunded");
    /// assert_eq!(s, Status::Unknown("refunded".into()));
    /// assert_eq!(serde_json::to_string(&s).unwrap(), "\"refunded\"");
    /// ```
    pub enum Status {
        /// The customer has not entered card data yet.
        Pending => "pending",
        /// The money is held on the card; processing continues.
        Authorized => "authorized",
        /// Successful, but the card's clearing is not finished.
        Success => "success",
        /// Final: an error during the transaction; it failed.
        Error => "error",
        /// Final: refused by the acquirer, the service gateway or Ktpay; it failed.
        Denied => "denied",
        /// Final: successful and cleared.
        Completed => "completed",
    }
);

impl Status {
    /// Whether the status is final (`completed`, `error`, `denied`). Unknown statuses are not.
    pub fn is_final(&self) -> bool {
        matches!(self, Status::Completed | Status::Error | Status::Denied)
    }

    /// Whether the payment went through (`completed`).
    pub fn is_completed(&self) -> bool {
        matches!(self, Status::Completed)
    }

    /// Whether the payment failed (`error` or `denied`).
    pub fn is_failed(&self) -> bool {
        matches!(self, Status::Error | Status::Denied)
    }

    /// The position in the documented life cycle `pending → authorized → success → final`;
    /// `None` for an unknown status.
    fn rank(&self) -> Option<u8> {
        match self {
            Status::Pending => Some(0),
            Status::Authorized => Some(1),
            Status::Success => Some(2),
            Status::Error | Status::Denied | Status::Completed => Some(3),
            Status::Unknown(_) => None,
        }
    }
}

/// What to do with a confirmed status, given the one the merchant stored: the one rule for
/// moving an order's status, used by [`crate::CallbackReceiver`] and meant for the merchant's
/// own store (apply it atomically with the write, e.g. in the `UPDATE … WHERE`).
///
/// A final status (`completed`, `error`, `denied`) is never replaced: not by a later, stale
/// delivery (`completed → pending`), and not by another final status (a conflict for a human
/// to look at, never a silent change). A status only moves forward in the documented life cycle
/// `pending → authorized → success → final`. An unknown status never replaces a known one.
///
/// ```
/// use ktwidget::{Status, Transition};
/// let (pending, completed) = (Status::Pending, Status::Completed);
/// assert_eq!(Transition::between(None, &completed), Transition::Apply);
/// assert_eq!(Transition::between(Some(&pending), &completed), Transition::Apply);
/// assert_eq!(Transition::between(Some(&completed), &completed), Transition::Duplicate);
/// assert_eq!(Transition::between(Some(&completed), &pending), Transition::KeepStored);
/// assert_eq!(Transition::between(Some(&completed), &Status::Error), Transition::KeepStored);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transition {
    /// Record the new status: nothing is stored yet, or it moves the order forward.
    Apply,
    /// The stored status again (a repeated delivery): nothing to record.
    Duplicate,
    /// Keep the stored status: it is final, or further along than the new one. Recording the
    /// new one would be a downgrade.
    KeepStored,
}

impl Transition {
    /// The transition from `stored` (`None`: nothing stored yet) to `next`.
    pub fn between(stored: Option<&Status>, next: &Status) -> Transition {
        let Some(stored) = stored else {
            return Transition::Apply;
        };
        if stored == next {
            return Transition::Duplicate;
        }
        if stored.is_final() {
            return Transition::KeepStored;
        }
        match (stored.rank(), next.rank()) {
            (Some(from), Some(to)) if to > from => Transition::Apply,
            // A known status replaces an unknown, non-final one.
            (None, Some(_)) => Transition::Apply,
            _ => Transition::KeepStored,
        }
    }

    /// Whether the new status is to be recorded.
    pub fn applies(self) -> bool {
        self == Transition::Apply
    }
}

payments_core::open_enum!(
    /// The kind of failure (`status.error.error_type`).
    pub enum ErrorType {
        /// `ERROR_PAYMENT`: while executing the payment.
        Payment => "ERROR_PAYMENT",
        /// `ERROR_INPUT`: while the card data was entered.
        Input => "ERROR_INPUT",
        /// `ERROR_SYSTEM`: inside Ktpay.
        System => "ERROR_SYSTEM",
    }
);

/// `status.error`: present for `error` and `denied`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TransactionError {
    /// `error_type`.
    pub error_type: Option<ErrorType>,
    /// `error_message`, e.g. `KKB rejected payment`.
    pub error_message: Option<String>,
}

/// A timestamp as Ktpay sent it.
///
/// The documented form is RFC 3339 with an offset (`2019-02-05T14:22:53+06:00`), and that is
/// [`Timestamp::Offset`]. A PHP service's default form `Y-m-d H:i:s` (`2019-02-05 14:22:53`)
/// carries no offset; it is read, not refused (a refused callback is lost after Ktpay's
/// retries), and kept as [`Timestamp::Local`]: the wall-clock time Ktpay wrote, in a zone the
/// SDK does not guess. Kazakhstan moved from +06:00 to +05:00 in 2024, so no fixed guess would
/// be right; use [`Timestamp::assume_offset`] with the offset your Ktpay manager confirms.
///
/// Also read: a space instead of `T`, fractional seconds (up to nanoseconds), `Z`, and `±hhmm`
/// offsets without a colon (PHP's `DATE_ISO8601`).
///
/// The date types are this crate's own small ones ([`DateTime`], [`OffsetDateTime`],
/// [`UtcOffset`]): they read, show and compare what Ktpay sent, and
/// [`OffsetDateTime::unix_timestamp`] hands the instant to the date library of your choice.
///
/// ```
/// use ktwidget::{Timestamp, UtcOffset};
/// let t = Timestamp::parse("2019-02-05T14:22:53+06:00").unwrap();
/// assert_eq!(t.offset_date_time().unwrap().offset().whole_hours(), 6);
/// let local = Timestamp::parse("2019-02-05 14:22:53").unwrap();
/// assert!(local.offset_date_time().is_none()); // no offset invented
/// assert_eq!(local.to_string(), "2019-02-05 14:22:53"); // kept as sent
/// let five = UtcOffset::from_minutes(5 * 60).unwrap();
/// let at = local.assume_offset(five);
/// assert_eq!(at.to_string(), "2019-02-05T14:22:53+05:00");
/// assert_eq!(at.unix_timestamp(), 1_549_358_573);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timestamp {
    /// With an offset, as sent (the documented form).
    Offset(OffsetDateTime),
    /// Without an offset: the wall-clock time in Ktpay's zone, which was not sent.
    Local(DateTime),
}

/// A date and a time of day without an offset (a wall clock's reading), to the nanosecond.
/// Years 0000 to 9999, as the 4-digit forms Ktpay sends allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanosecond: u32,
}

/// An offset from UTC, in whole minutes (RFC 3339 offsets have no seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcOffset {
    minutes: i16,
}

/// A [`DateTime`] with its [`UtcOffset`]: an instant, as written in one zone.
///
/// Equality compares what was written (the wall clock and the offset), not only the instant;
/// compare [`OffsetDateTime::unix_timestamp_nanos`] for the instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OffsetDateTime {
    wall: DateTime,
    offset: UtcOffset,
}

/// The digits of `b` as a number, when `b` is all ASCII digits.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

impl DateTime {
    /// Reads `YYYY-MM-DD?hh:mm:ss` (`?` is `T`, `t` or a space) with optional fractional
    /// seconds, and returns what follows.
    fn parse_prefix(b: &[u8]) -> Option<(DateTime, &[u8])> {
        if b.len() < 19
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let at = DateTime {
            year: u16::try_from(digits(&b[0..4])?).ok()?,
            month: u8::try_from(digits(&b[5..7])?).ok()?,
            day: u8::try_from(digits(&b[8..10])?).ok()?,
            hour: u8::try_from(digits(&b[11..13])?).ok()?,
            minute: u8::try_from(digits(&b[14..16])?).ok()?,
            second: u8::try_from(digits(&b[17..19])?).ok()?,
            nanosecond: 0,
        };
        if !payments_core::wire::is_valid_wall_clock(
            at.year, at.month, at.day, at.hour, at.minute, at.second,
        ) {
            return None;
        }
        let mut rest = &b[19..];
        let mut at = at;
        if let Some(frac) = rest.strip_prefix(b".") {
            let n = frac.iter().take_while(|d| d.is_ascii_digit()).count();
            if !(1..=9).contains(&n) {
                return None;
            }
            at.nanosecond = digits(&frac[..n])? * 10u32.pow(9 - n as u32);
            rest = &frac[n..];
        }
        Some((at, rest))
    }

    /// The year (0 to 9999).
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month (1 to 12).
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month (1 to 31).
    pub fn day(&self) -> u8 {
        self.day
    }
    /// The hour (0 to 23).
    pub fn hour(&self) -> u8 {
        self.hour
    }
    /// The minute (0 to 59).
    pub fn minute(&self) -> u8 {
        self.minute
    }
    /// The second (0 to 59).
    pub fn second(&self) -> u8 {
        self.second
    }
    /// The nanoseconds within the second.
    pub fn nanosecond(&self) -> u32 {
        self.nanosecond
    }

    /// Seconds since 1970-01-01 00:00:00 on the same wall clock.
    fn seconds_since_epoch(&self) -> i64 {
        // Days from the civil date (H. Hinnant's algorithm, years starting in March).
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// This wall clock, read in the zone `offset`.
    pub fn assume_offset(self, offset: UtcOffset) -> OffsetDateTime {
        OffsetDateTime { wall: self, offset }
    }

    /// `YYYY-MM-DD`, `sep`, `hh:mm:ss` and the fractional seconds if any.
    fn write(&self, f: &mut fmt::Formatter<'_>, sep: char) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl fmt::Display for DateTime {
    /// `Y-m-d H:i:s`, with fractional seconds if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, ' ')
    }
}

impl UtcOffset {
    /// UTC itself.
    pub const UTC: UtcOffset = UtcOffset { minutes: 0 };

    /// An offset of `minutes` east of UTC (west if negative); `None` beyond ±23:59.
    pub fn from_minutes(minutes: i16) -> Option<UtcOffset> {
        (-1439..=1439)
            .contains(&minutes)
            .then_some(UtcOffset { minutes })
    }

    /// The offset in minutes, east of UTC positive.
    pub fn whole_minutes(&self) -> i16 {
        self.minutes
    }

    /// The whole hours of the offset (`-1` for `-01:30`).
    pub fn whole_hours(&self) -> i8 {
        // |minutes| < 1440, so the quotient fits.
        (self.minutes / 60) as i8
    }

    /// Reads `Z`, `z`, `±hh:mm` or `±hhmm`: the whole of `b`.
    fn parse(b: &[u8]) -> Option<UtcOffset> {
        let (sign, rest) = match b {
            [b'Z' | b'z'] => return Some(UtcOffset::UTC),
            [b'+', rest @ ..] => (1, rest),
            [b'-', rest @ ..] => (-1, rest),
            _ => return None,
        };
        let (h, m) = match rest {
            [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
            }
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        UtcOffset::from_minutes(sign * i16::try_from(h * 60 + m).ok()?)
    }
}

impl fmt::Display for UtcOffset {
    /// `Z` for UTC, `±hh:mm` otherwise (RFC 3339).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minutes == 0 {
            return f.write_str("Z");
        }
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let abs = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
    }
}

impl OffsetDateTime {
    /// The offset sent.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }
    /// The date and time as written, in [`OffsetDateTime::offset`]'s zone.
    pub fn wall_clock(&self) -> DateTime {
        self.wall
    }
    /// The year, as written.
    pub fn year(&self) -> u16 {
        self.wall.year
    }
    /// The month (1 to 12), as written.
    pub fn month(&self) -> u8 {
        self.wall.month
    }
    /// The day of the month, as written.
    pub fn day(&self) -> u8 {
        self.wall.day
    }
    /// The hour, as written (in the offset's zone).
    pub fn hour(&self) -> u8 {
        self.wall.hour
    }
    /// The minute, as written.
    pub fn minute(&self) -> u8 {
        self.wall.minute
    }
    /// The second, as written.
    pub fn second(&self) -> u8 {
        self.wall.second
    }
    /// The nanoseconds within the second.
    pub fn nanosecond(&self) -> u32 {
        self.wall.nanosecond
    }

    /// The instant in whole seconds since 1970-01-01T00:00:00Z (the fraction dropped).
    pub fn unix_timestamp(&self) -> i64 {
        self.wall.seconds_since_epoch() - i64::from(self.offset.minutes) * 60
    }

    /// The instant in nanoseconds since 1970-01-01T00:00:00Z.
    pub fn unix_timestamp_nanos(&self) -> i128 {
        i128::from(self.unix_timestamp()) * 1_000_000_000 + i128::from(self.wall.nanosecond)
    }
}

impl fmt::Display for OffsetDateTime {
    /// RFC 3339: `2019-02-05T14:22:53+06:00`, with fractional seconds if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.wall.write(f, 'T')?;
        write!(f, "{}", self.offset)
    }
}

/// Why a timestamp was refused. It never quotes the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a timestamp in RFC 3339 (with an offset) or `Y-m-d H:i:s` (without one) form")]
pub struct TimestampError;

impl Timestamp {
    /// Reads a timestamp in any of the accepted forms (see the type's docs).
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let b = text.trim().as_bytes();
        let (wall, rest) = DateTime::parse_prefix(b).ok_or(TimestampError)?;
        if rest.is_empty() {
            return Ok(Timestamp::Local(wall));
        }
        let offset = UtcOffset::parse(rest).ok_or(TimestampError)?;
        Ok(Timestamp::Offset(wall.assume_offset(offset)))
    }

    /// The instant, when Ktpay sent an offset.
    pub fn offset_date_time(&self) -> Option<OffsetDateTime> {
        match self {
            Timestamp::Offset(at) => Some(*at),
            Timestamp::Local(_) => None,
        }
    }

    /// The instant, taking `offset` as Ktpay's zone for a timestamp sent without one. A
    /// timestamp sent with an offset keeps its own.
    pub fn assume_offset(&self, offset: UtcOffset) -> OffsetDateTime {
        match self {
            Timestamp::Offset(at) => *at,
            Timestamp::Local(local) => local.assume_offset(offset),
        }
    }

    /// The date and time as Ktpay wrote them (its wall clock), with or without an offset.
    pub fn wall_clock(&self) -> DateTime {
        match self {
            Timestamp::Offset(at) => at.wall,
            Timestamp::Local(local) => *local,
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 with the offset sent; `Y-m-d H:i:s` (with fractional seconds if any) without.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::Offset(at) => at.fmt(f),
            Timestamp::Local(local) => local.fmt(f),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The `status` object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StatusInfo {
    /// `status.status`.
    pub status: Status,
    /// `status.created_at`.
    pub created_at: Option<Timestamp>,
    /// `status.updated_at` (often null).
    pub updated_at: Option<Timestamp>,
    /// `status.error`.
    pub error: Option<TransactionError>,
}

/// Ktpay's view of one transaction: the documented callback body, and the assumed shape of the
/// provisional status and cancel answers.
///
/// A `Transaction` is only ever made by the SDK: from the answer to the merchant's own call
/// ([`crate::Client::payment_status`], [`crate::Client::cancel_payment`]), or inside a
/// [`crate::ConfirmedStatus`]. A callback body that was not authenticated is a
/// [`crate::CallbackHint`], which never becomes a `Transaction`.
///
/// Its `Serialize` gives the normalised JSON (the amount as an exact decimal number, timestamps
/// as sent).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Transaction {
    /// `merchant_id`: the merchant's id at Ktpay.
    pub merchant_id: Option<u64>,
    /// `order_id`: the merchant's order id.
    pub order_id: OrderId,
    /// `description`.
    pub description: Option<String>,
    /// `amount`, exact.
    #[serde(with = "payments_core::money::decimal")]
    pub amount: Amount,
    /// `transaction_hash`: Ktpay's id of the transaction.
    pub transaction_hash: TransactionHash,
    /// `created_at`: when Ktpay created the transaction (see [`Timestamp`] for a timestamp sent
    /// without an offset).
    pub created_at: Timestamp,
    /// `updated_at`; may be null.
    pub updated_at: Option<Timestamp>,
    /// `status`.
    pub status: StatusInfo,
}

impl Transaction {
    /// The normalised JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amt(s: &str) -> Amount {
        s.parse().unwrap()
    }

    #[test]
    fn ecom_order_builds() {
        let o = Order::builder("A-1", amt("10"))
            .callback_success_url("https://shop.example/ok")
            .callback_force_failed_url("http://shop.example/fail?x=1")
            .user(User::with_id("u1").phone("+77778889900").email("a@b.kz"))
            .build()
            .unwrap();
        assert_eq!(o.kind(), &PaymentKind::Ecom);
        assert_eq!(o.kind().wire_type(), "ecom");
        assert_eq!(
            o.callbacks().success.as_ref().unwrap().as_str(),
            "https://shop.example/ok"
        );
        assert!(o.callbacks().force_failed.is_some());
        assert!(o.callbacks().post.is_none());
    }

    #[test]
    fn every_rule_is_checked() {
        let e = Order::builder("  ", Amount::ZERO)
            .service(0, "")
            .callback_post_url("/relative")
            .callback_back_url("mailto:a@b.c")
            .user(User::with_id("").phone("12ab").email("nope"))
            .build()
            .unwrap_err();
        for f in [
            "order_id",
            "amount",
            "service.service_id",
            "service.contract_value",
            "callback_post_url",
            "callback_back_url",
            "user.merchant_user_id",
            "user.phone",
            "user.email",
        ] {
            assert!(e.has(f), "{f} in {e}");
        }
        assert!(e.to_string().starts_with("invalid order: "));
        assert!(OrderId::new("a\nb").is_err());
        assert!(OrderId::new("x".repeat(256)).is_err());
        assert!(TransactionHash::new("").is_err());
    }

    #[test]
    fn later_url_replaces_earlier() {
        let o = Order::builder("A", amt("1"))
            .callback_post_url("not a url")
            .callback_post_url("https://ok.example/cb")
            .build()
            .unwrap();
        assert_eq!(
            o.callbacks().post.as_ref().unwrap().as_str(),
            "https://ok.example/cb"
        );
    }

    #[test]
    fn instants_match_known_unix_times() {
        // Known answers (computed with Python's datetime).
        for (text, unix) in [
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59Z", -1),
            ("2019-02-05T14:22:53+06:00", 1_549_354_973),
            ("2000-02-29T23:59:59-01:30", 951_874_199),
        ] {
            let t = Timestamp::parse(text).unwrap().offset_date_time().unwrap();
            assert_eq!(t.unix_timestamp(), unix, "{text}");
        }
        let t = Timestamp::parse("1970-01-01T00:00:01.5+00:00").unwrap();
        assert_eq!(
            t.assume_offset(UtcOffset::UTC).unix_timestamp_nanos(),
            1_500_000_000
        );
        let off = Timestamp::parse("2019-02-05T14:22:53.5-0130").unwrap();
        let off = off.offset_date_time().unwrap();
        assert_eq!(off.offset().whole_minutes(), -90);
        assert_eq!(off.offset().whole_hours(), -1);
        assert_eq!(off.nanosecond(), 500_000_000);
        assert_eq!(UtcOffset::from_minutes(1440), None);
        assert_eq!(
            UtcOffset::from_minutes(-1439).unwrap().to_string(),
            "-23:59"
        );
    }

    #[test]
    fn calendar_dates_are_checked() {
        assert!(Timestamp::parse("2024-02-29 00:00:00").is_ok());
        assert!(Timestamp::parse("2000-02-29 00:00:00").is_ok());
        for bad in [
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2019-04-31 00:00:00",
            "2019-00-10 00:00:00",
            "2019-01-00 00:00:00",
            "2019-01-01 23:60:00",
            "2019-01-01 23:00:60",
            "2019-01-01 23:00:00.",
            "2019-01-01 23:00:00.1234567890",
            "2019-01-01 23:00:00+24:00",
            "2019-01-01 23:00:00+05:60",
            "2019-01-01 23:00:00+05:0",
            "2019-01-01 23:00:00Zjunk",
            "2019-01-01x23:00:00",
            "+019-01-01 23:00:00",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(TimestampError), "{bad}");
        }
    }

    #[test]
    fn timestamps_with_and_without_offsets() {
        for (text, shown) in [
            ("2019-02-05T14:22:53+06:00", "2019-02-05T14:22:53+06:00"),
            ("2019-02-05 14:22:53+06:00", "2019-02-05T14:22:53+06:00"),
            ("2019-02-05T14:22:53+0600", "2019-02-05T14:22:53+06:00"),
            ("2019-02-05T14:22:53.5-0130", "2019-02-05T14:22:53.5-01:30"),
            ("2019-02-05T08:22:53Z", "2019-02-05T08:22:53Z"),
            (
                " 2019-02-05T14:22:53.25+05:00 ",
                "2019-02-05T14:22:53.25+05:00",
            ),
        ] {
            let t = Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(t.offset_date_time().is_some(), "{text}");
            assert_eq!(t.to_string(), shown, "{text}");
        }
        // PHP's default `Y-m-d H:i:s`: kept without an offset, never given one silently.
        for (text, shown) in [
            ("2019-02-05 14:22:53", "2019-02-05 14:22:53"),
            ("2019-02-05T14:22:53", "2019-02-05 14:22:53"),
            ("2019-02-05 14:22:53.120", "2019-02-05 14:22:53.12"),
        ] {
            let t = Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(matches!(t, Timestamp::Local(_)), "{text}");
            assert_eq!(t.offset_date_time(), None);
            assert_eq!(t.to_string(), shown);
            assert_eq!(t.wall_clock().hour(), 14);
            let five = UtcOffset::from_minutes(5 * 60).unwrap();
            assert_eq!(t.assume_offset(five).offset(), five);
            assert_eq!(t.assume_offset(five).hour(), 14);
        }
        // An offset sent is kept, whatever is assumed.
        let t = Timestamp::parse("2019-02-05T14:22:53+06:00").unwrap();
        assert_eq!(t.assume_offset(UtcOffset::UTC).offset().whole_hours(), 6);
        for bad in [
            "",
            "yesterday",
            "2019-02-05",
            "2019-13-05 14:22:53",
            "2019-02-05 25:00:00",
            "2019-02-05 14:22:53 +6",
            "２０１９-02-05 14:22:53",
        ] {
            let e = Timestamp::parse(bad).unwrap_err();
            assert!(!e.to_string().contains(bad) || bad.is_empty(), "{e}");
        }
    }

    #[test]
    fn service_ids_are_numbers_or_their_digits() {
        for id in [
            ServiceId::new(7).unwrap(),
            "7".parse().unwrap(),
            ServiceId::try_from(" 7 ").unwrap(),
            ServiceId::try_from(7i32).unwrap(),
            ServiceId::try_from(String::from("7")).unwrap(),
        ] {
            assert_eq!(id.get(), 7);
        }
        for bad in ["", "0", "-1", "1.0", "x", "99999999999999999999999"] {
            assert!(bad.parse::<ServiceId>().is_err(), "{bad}");
        }
        assert!(ServiceId::try_from(-1i64).is_err());
        let text = Order::builder("s", "1".parse().unwrap())
            .service("7", "c")
            .build()
            .unwrap();
        let number = Order::builder("s", "1".parse().unwrap())
            .service(7, "c")
            .build()
            .unwrap();
        assert_eq!(text, number);
        let e = Order::builder("s", "1".parse().unwrap())
            .service("seven", "c")
            .build()
            .unwrap_err();
        assert!(e.has("service.service_id"), "{e}");
    }

    #[test]
    fn phones_are_normalised_before_they_are_checked() {
        for (given, sent) in [
            ("+77778889900", "+77778889900"),
            ("+7 777 888 99 00", "+77778889900"),
            ("8 777 888 99 00", "+77778889900"),
            ("8(777)888-99-00", "+77778889900"),
            ("77778889900", "+77778889900"),
            ("+8 777 888 99 00", "+87778889900"),
            ("8 800 555", "+8800555"),
        ] {
            let o = Order::builder("p", "1".parse().unwrap())
                .user(User::default().phone(given))
                .build()
                .unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(o.user().unwrap().phone.as_deref(), Some(sent), "{given}");
        }
        for bad in [
            "",
            "+",
            "1234",
            "12ab5678",
            "+1234567890123456",
            "++77778889900",
        ] {
            let e = Order::builder("p", "1".parse().unwrap())
                .user(User::default().phone(bad))
                .build()
                .unwrap_err();
            assert!(e.has("user.phone"), "{bad}");
        }
    }

    #[test]
    fn the_transition_rule() {
        use Status::*;
        let unknown = Status::Unknown("refunded".into());
        let all = [
            Pending,
            Authorized,
            Success,
            Error,
            Denied,
            Completed,
            unknown.clone(),
        ];
        for next in &all {
            assert_eq!(Transition::between(None, next), Transition::Apply, "{next}");
            assert_eq!(
                Transition::between(Some(next), next),
                Transition::Duplicate,
                "{next}"
            );
        }
        for stored in [Error, Denied, Completed] {
            for next in all.iter().filter(|n| **n != stored) {
                assert_eq!(
                    Transition::between(Some(&stored), next),
                    Transition::KeepStored,
                    "{stored} -> {next}"
                );
            }
        }
        assert_eq!(
            Transition::between(Some(&Pending), &Authorized),
            Transition::Apply
        );
        assert_eq!(
            Transition::between(Some(&Pending), &Completed),
            Transition::Apply
        );
        assert_eq!(
            Transition::between(Some(&Success), &Denied),
            Transition::Apply
        );
        assert_eq!(
            Transition::between(Some(&Success), &Pending),
            Transition::KeepStored
        );
        assert_eq!(
            Transition::between(Some(&Authorized), &Pending),
            Transition::KeepStored
        );
        assert_eq!(
            Transition::between(Some(&Pending), &unknown),
            Transition::KeepStored
        );
        assert_eq!(
            Transition::between(Some(&unknown), &Completed),
            Transition::Apply
        );
        assert!(Transition::Apply.applies() && !Transition::KeepStored.applies());
    }
}
