//! The payment order: what [`crate::Client::create_payment`] seals and sends.
//!
//! Every rule Ktpay's validation applies that the SDK can know is checked before anything is
//! sent: non-empty ids, a positive amount with at most two decimals (guaranteed by [`Amount`]),
//! absolute `http(s)` callback URLs, and a `service` object exactly when `type = service`
//! (the [`PaymentKind::Service`] variant).

use std::collections::BTreeMap;
use std::fmt;

use payments_core::Amount;
use url::Url;

/// Field-level validation failures, collected the way Ktpay's own `validation` map is:
/// field name → messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid order: {}", summary(.fields))]
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

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps the value: not empty or blank, no control characters, bounded
            /// length.
            pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                check_text($field, &value, $max)?;
                Ok($name(value))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::new(s)
            }
        }
    };
}

text_newtype!(
    /// The merchant's order id (`order_id`): unique per payment, chosen by the merchant.
    OrderId,
    "order_id",
    255
);
text_newtype!(
    /// Ktpay's id of a transaction (`transaction_hash`), e.g. `af7ed500aa9f2132fae4b63e936af641bcc4ebaf`.
    TransactionHash,
    "transaction_hash",
    255
);
text_newtype!(
    /// The contract number for a `service` payment (`service.contract_value`): a phone number for a
    /// mobile operator, an account number for a utility...
    ContractValue,
    "service.contract_value",
    255
);

/// A Ktpay service id (`service.service_id`), sent as a JSON number. Ask your Ktpay manager for
/// the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(u64);

impl ServiceId {
    /// A service id; zero is refused.
    pub fn new(id: u64) -> Result<Self, ValidationError> {
        if id == 0 {
            Err(ValidationError::single(
                "service.service_id",
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

/// An absolute `http` or `https` URL, for the callback and redirect fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallbackUrl(Url);

impl CallbackUrl {
    /// Parses and checks `text` (absolute, `http` or `https`, with a host). `field` names the
    /// field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let url = Url::parse(text.trim())
            .map_err(|e| ValidationError::single(field, format!("is not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ValidationError::single(field, "must be an http(s) URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ValidationError::single(field, "must have a host"));
        }
        Ok(CallbackUrl(url))
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<CallbackUrl> for Url {
    fn from(value: CallbackUrl) -> Self {
        value.0
    }
}

/// The payment mode (`type`): a sale of the merchant's own goods, or a payment to a Ktpay
/// service. The service's fields exist only in the variant that requires them.
#[derive(Clone, Debug, PartialEq, Eq)]
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
pub struct CallbackUrls {
    /// `callback_post_url`: where Ktpay POSTs the final status (see [`crate::callback`]).
    pub post: Option<CallbackUrl>,
    /// `callback_back_url`: where the customer returns to the merchant's site.
    pub back: Option<CallbackUrl>,
    /// `callback_success_url`: where a successful payment returns.
    pub success: Option<CallbackUrl>,
    /// `callback_failed_url`: where a failed payment returns.
    pub failed: Option<CallbackUrl>,
    /// `callback_force_back_url`: redirect at once, skipping the widget's result page.
    pub force_back: Option<CallbackUrl>,
    /// `callback_force_success_url`: redirect a success at once.
    pub force_success: Option<CallbackUrl>,
    /// `callback_force_failed_url`: redirect a failure at once.
    pub force_failed: Option<CallbackUrl>,
}

/// The optional `user` object: who pays, in the merchant's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// `merchant_user_id`.
    pub merchant_user_id: Option<String>,
    /// `phone`, e.g. `+77778889900`.
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

    fn validate(&self, errors: &mut ValidationError) {
        if let Some(id) = &self.merchant_user_id {
            if let Err(e) = check_text("user.merchant_user_id", id, 255) {
                errors.fields.extend(e.fields);
            }
        }
        if let Some(phone) = &self.phone {
            let digits = phone.strip_prefix('+').unwrap_or(phone);
            if digits.len() < 5 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                errors.push("user.phone", "must be 5 to 15 digits, optionally after '+'");
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
    service: Option<(u64, String)>,
    description: Option<String>,
    urls: Vec<(UrlField, String)>,
    show_close_button: Option<bool>,
    user: Option<User>,
}

impl OrderBuilder {
    /// Makes it a `service` payment to Ktpay service `service_id` for contract `contract_value`.
    pub fn service(mut self, service_id: u64, contract_value: impl Into<String>) -> Self {
        self.service = Some((service_id, contract_value.into()));
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
                let id = ServiceId::new(id)
                    .map_err(|e| errors.fields.extend(e.fields))
                    .ok();
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
            match CallbackUrl::parse(field.name(), text) {
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
        if let Some(user) = &self.user {
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
                user: self.user,
            }),
            _ => Err(errors),
        }
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
}
