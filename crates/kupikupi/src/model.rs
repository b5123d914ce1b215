//! The model: domain types, each checking its rule when it is built (so a value of the type is
//! always valid on the wire), and the typed answers of the calls.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use payments_core::Amount;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use payments_core::Invalid;

/// The largest amount the provider's `Number(10)` columns hold: 9 999 999 999 kopecks.
pub const MAX_AMOUNT_MINOR: u64 = 9_999_999_999;

/// A customer's phone: 11 digits starting with `7` (`79991234567`). Sent as a JSON number.
///
/// ```
/// use kupikupi::Phone;
/// let p: Phone = "79000000001".parse()?;
/// assert_eq!(p.as_u64(), 79_000_000_001);
/// assert!(Phone::new("89000000001").is_err());
/// assert!(Phone::new("+79000000001").is_err());
/// # Ok::<(), kupikupi::Invalid>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(u64);

impl Phone {
    /// Checks and wraps a phone given as its 11 digits.
    pub fn new(digits: &str) -> Result<Self, Invalid> {
        let ok = digits.len() == 11
            && digits.starts_with('7')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(bad_phone(digits));
        }
        digits.parse().map(Phone).map_err(|_| bad_phone(digits))
    }

    /// Checks and wraps a phone given as a number.
    pub fn from_u64(number: u64) -> Result<Self, Invalid> {
        if (70_000_000_000..80_000_000_000).contains(&number) {
            Ok(Phone(number))
        } else {
            Err(bad_phone(&number.to_string()))
        }
    }

    /// The phone as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.0)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Phone {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::new(s)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = scalar_text(d)?;
        Phone::new(&text).map_err(de::Error::custom)
    }
}

/// The merchant's order id: 1 to 36 characters, no control characters. Sent as a string.
///
/// Unique per transfer: it is how `checkout` finds a transfer, and how a retried `init` is
/// recognised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(String);

impl OrderId {
    /// The longest order id: 36 characters (`String(36)`).
    pub const MAX_CHARS: usize = 36;

    /// Checks and wraps an order id.
    pub fn new(id: impl Into<String>) -> Result<Self, Invalid> {
        let id = id.into();
        let chars = id.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS || id.chars().any(char::is_control) {
            return Err(Invalid::new(
                "order_id",
                format!(
                    "must be 1 to 36 characters without control characters, got {:?}",
                    short(&id)
                ),
            ));
        }
        Ok(OrderId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OrderId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderId::new(s)
    }
}

impl Serialize for OrderId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = scalar_text(d)?;
        OrderId::new(text).map_err(de::Error::custom)
    }
}

/// A transfer amount in kopecks: positive, and at most [`MAX_AMOUNT_MINOR`] (`Number(10)`).
///
/// ```
/// use kupikupi::TransferAmount;
/// let a = TransferAmount::from_minor(25_000)?;
/// assert_eq!(a.amount().to_string(), "250.00");
/// assert!(TransferAmount::from_minor(0).is_err());
/// assert!(TransferAmount::from_minor(10_000_000_000).is_err());
/// # Ok::<(), kupikupi::Invalid>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferAmount(Amount);

impl TransferAmount {
    /// Checks and wraps an amount.
    pub fn new(amount: Amount) -> Result<Self, Invalid> {
        amount
            .require_positive()
            .and_then(|a| a.require_at_most(MAX_AMOUNT_MINOR))
            .map(TransferAmount)
            .map_err(|e| Invalid::new("amount", e.to_string()))
    }

    /// Checks and wraps a number of kopecks.
    pub fn from_minor(kopecks: u64) -> Result<Self, Invalid> {
        TransferAmount::new(Amount::from_minor(kopecks))
    }

    /// The amount.
    pub fn amount(self) -> Amount {
        self.0
    }

    /// The number of kopecks.
    pub fn minor(self) -> u64 {
        self.0.minor()
    }
}

impl TryFrom<Amount> for TransferAmount {
    type Error = Invalid;
    fn try_from(a: Amount) -> Result<Self, Invalid> {
        TransferAmount::new(a)
    }
}

impl fmt::Display for TransferAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The provider's id of a transfer (`Number(20)` in one table, `Number(43)` in another). Kept
/// as its exact digits, since 43 digits do not fit in any integer type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(String);

impl PaymentId {
    /// Wraps the digits of a payment id (1 to 43 ASCII digits).
    pub fn new(digits: impl Into<String>) -> Result<Self, Invalid> {
        let digits = digits.into();
        if digits.is_empty() || digits.len() > 43 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "payment_id",
                format!("must be 1 to 43 digits, got {:?}", short(&digits)),
            ));
        }
        Ok(PaymentId(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PaymentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PaymentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = scalar_text(d)?;
        PaymentId::new(text).map_err(de::Error::custom)
    }
}

payments_core::open_enum! {
    /// The state of a transfer. Open: a status this SDK does not know yet is kept as
    /// [`TransferStatus::Unknown`] and written back unchanged; it is not final, so keep asking
    /// `checkout`.
    pub enum TransferStatus {
        /// Registered by `init`.
        New => "NEW",
        /// The customer opened the transfer form.
        FormShowed => "FORM_SHOWED",
        /// The points could not be transferred (for example, not enough points).
        Rejected => "REJECTED",
        /// Nothing happened during the form's lifetime.
        Canceled => "CANCELED",
        /// The points were transferred to the merchant.
        Confirmed => "CONFIRMED",
    }
}

impl TransferStatus {
    /// Whether the transfer can no longer change: `REJECTED`, `CANCELED` or `CONFIRMED`.
    /// An unknown status is treated as not final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TransferStatus::Rejected | TransferStatus::Canceled | TransferStatus::Confirmed
        )
    }

    /// Whether the points reached the merchant.
    pub fn is_confirmed(&self) -> bool {
        matches!(self, TransferStatus::Confirmed)
    }
}

/// The code the customer received, for `confirmation`: 1 to 18 digits. The provider's PHP class
/// types it `int`, so it is sent as a JSON number — except a code with a leading zero, which is
/// sent as a string so the zero is not lost (the token is the same either way).
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationCode(String);

impl ConfirmationCode {
    /// Checks and wraps a code.
    pub fn new(code: impl Into<String>) -> Result<Self, Invalid> {
        let code = code.into();
        if code.is_empty() || code.len() > 18 || !code.bytes().all(|b| b.is_ascii_digit()) {
            // The code itself is never shown.
            return Err(Invalid::new("confirmation_code", "must be 1 to 18 digits"));
        }
        Ok(ConfirmationCode(code))
    }

    /// The code's digits, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationCode([REDACTED])")
    }
}

/// `field` holds `min..=max` ASCII digits, or an [`Invalid`] naming the field and the rule.
fn digits(
    field: &'static str,
    min: usize,
    max: usize,
    rule: &str,
    text: &str,
) -> Result<(), Invalid> {
    if (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("must be {rule} digits, got {:?}", short(text)),
        ))
    }
}

fn fiscal_drive_digits(text: &str) -> Result<(), Invalid> {
    digits("fn", 16, 16, "16", text)
}

fn fiscal_document_digits(text: &str) -> Result<(), Invalid> {
    digits("fd", 1, 10, "1 to 10", text)
}

fn fiscal_sign_digits(text: &str) -> Result<(), Invalid> {
    digits("fp", 1, 10, "1 to 10", text)
}

payments_core::checked_newtype! {
    /// The fiscal drive number (ФН): exactly 16 digits.
    pub struct FiscalDriveNumber(String) checked_by fiscal_drive_digits => Invalid;
}

payments_core::checked_newtype! {
    /// The fiscal document number (ФД): 1 to 10 digits.
    pub struct FiscalDocumentNumber(String) checked_by fiscal_document_digits => Invalid;
}

payments_core::checked_newtype! {
    /// The fiscal sign of the document (ФП / ФПД): 1 to 10 digits.
    pub struct FiscalSign(String) checked_by fiscal_sign_digits => Invalid;
}

/// When the customer paid, sent as `d.m.Y H:i:s` (`05.03.2023 14:07:09`), in the time zone of
/// the receipt (the provider does not say which; a careful choice is the kassa's local time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayDate {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl PayDate {
    /// Checks and builds a date and time (years 2000 to 2999).
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Self, Invalid> {
        let ok = (2000..=2999).contains(&year)
            && payments_core::wire::is_valid_wall_clock(year, month, day, hour, minute, second);
        if !ok {
            return Err(bad_pay_date(&format!(
                "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
            )));
        }
        Ok(PayDate {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Parses `d.m.Y H:i:s` (two-digit day, month, hour, minute and second; four-digit year).
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad = || bad_pay_date(&short(text));
        let b = text.as_bytes();
        if b.len() != 19 {
            return Err(bad());
        }
        let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'.',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
        if !shape_ok {
            return Err(bad());
        }
        let num = |from: usize, to: usize| -> Result<u16, Invalid> {
            text.get(from..to)
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)
        };
        let small = |v: u16| u8::try_from(v).map_err(|_| bad());
        PayDate::new(
            num(6, 10)?,
            small(num(3, 5)?)?,
            small(num(0, 2)?)?,
            small(num(11, 13)?)?,
            small(num(14, 16)?)?,
            small(num(17, 19)?)?,
        )
    }
}

impl fmt::Display for PayDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}.{:02}.{:04} {:02}:{:02}:{:02}",
            self.day, self.month, self.year, self.hour, self.minute, self.second
        )
    }
}

impl FromStr for PayDate {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PayDate::parse(s)
    }
}

impl Serialize for PayDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The kind of fiscal receipt (the "settlement sign" of Russian fiscal law), sent as its number.
/// The provider does not list the values; these are the four of the law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReceiptType {
    /// `1`: income (a sale, приход).
    Income,
    /// `2`: return of income (a refund, возврат прихода).
    IncomeReturn,
    /// `3`: expense (расход).
    Expense,
    /// `4`: return of expense (возврат расхода).
    ExpenseReturn,
}

impl ReceiptType {
    /// The wire number.
    pub fn code(self) -> u8 {
        match self {
            ReceiptType::Income => 1,
            ReceiptType::IncomeReturn => 2,
            ReceiptType::Expense => 3,
            ReceiptType::ExpenseReturn => 4,
        }
    }

    /// The type of a wire number.
    pub fn from_code(code: u8) -> Result<Self, Invalid> {
        match code {
            1 => Ok(ReceiptType::Income),
            2 => Ok(ReceiptType::IncomeReturn),
            3 => Ok(ReceiptType::Expense),
            4 => Ok(ReceiptType::ExpenseReturn),
            other => Err(Invalid::new(
                "receipt_type",
                format!("must be 1, 2, 3 or 4, got {other}"),
            )),
        }
    }
}

impl Serialize for ReceiptType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// A customer's fiscal receipt, for the `receipt` method. Every field is required by the
/// method; each is valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The customer's phone.
    pub phone: Phone,
    /// The receipt's total.
    pub amount: TransferAmount,
    /// The fiscal drive number (`fn`).
    pub fiscal_drive: FiscalDriveNumber,
    /// The fiscal document number (`fd`).
    pub fiscal_document: FiscalDocumentNumber,
    /// The fiscal sign (`fp`).
    pub fiscal_sign: FiscalSign,
    /// When the customer paid (`pay_date`).
    pub pay_date: PayDate,
    /// The kind of receipt (`receipt_type`).
    pub receipt_type: ReceiptType,
    /// The discount, in kopecks (`discount`); zero when there is none. At most
    /// [`MAX_AMOUNT_MINOR`].
    pub discount: Discount,
}

/// A discount in kopecks: zero or more, at most [`MAX_AMOUNT_MINOR`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Discount(Amount);

impl Discount {
    /// No discount.
    pub const NONE: Discount = Discount(Amount::ZERO);

    /// Checks and wraps a discount.
    pub fn new(amount: Amount) -> Result<Self, Invalid> {
        amount
            .require_at_most(MAX_AMOUNT_MINOR)
            .map(Discount)
            .map_err(|e| Invalid::new("discount", e.to_string()))
    }

    /// The amount.
    pub fn amount(self) -> Amount {
        self.0
    }
}

/// The answer to `init`: the transfer, and the page to send the customer to.
///
/// The answer echoes the order id and the amount; the client checks that they are the ones it
/// sent (a difference is `Error::InitMismatch`, which still carries the transfer's id and
/// URL), so the fields here are the request's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transfer {
    /// The provider's id of the transfer: store it with your order.
    pub payment_id: PaymentId,
    /// The merchant's order id (the provider echoed it unchanged).
    pub order_id: OrderId,
    /// The amount (the provider echoed it unchanged).
    pub amount: TransferAmount,
    /// The transfer form: redirect the customer here.
    pub transfer_url: http::Uri,
}

/// The answer to `checkout`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkout {
    /// The transfer's state.
    pub transfer_status: TransferStatus,
    /// The provider's id of the transfer.
    pub payment_id: PaymentId,
    /// The order id, when the provider echoed it.
    pub order_id: Option<OrderId>,
}

/// The answer to `confirmation`. The provider documents no fields beyond `status` and
/// `errorCode`; those it may add are kept when present.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Confirmation {
    /// The transfer's state, if the answer carried it.
    pub transfer_status: Option<TransferStatus>,
    /// The transfer's id, if the answer carried it.
    pub payment_id: Option<PaymentId>,
    /// The order id, if the answer carried it.
    pub order_id: Option<OrderId>,
    /// The provider's message, if any.
    pub message: Option<String>,
}

/// The answer to `receipt`: the provider accepted the receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiptAccepted {
    /// The provider's message, if any.
    pub message: Option<String>,
}

fn bad_phone(digits: &str) -> Invalid {
    Invalid::new(
        "phone",
        format!("must be 11 digits starting with 7, got {:?}", short(digits)),
    )
}

fn bad_pay_date(text: &str) -> Invalid {
    Invalid::new(
        "pay_date",
        format!("must be a valid \"d.m.Y H:i:s\" date and time, got {text:?}"),
    )
}

pub(crate) fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The exact text of a raw JSON string or non-negative integer (numbers digit for digit),
/// borrowed unless the string holds an escape; `None` for any other JSON value.
pub(crate) fn raw_scalar_text(raw: &str) -> Option<Cow<'_, str>> {
    let text = raw.trim();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            // Raw JSON is valid already: an unescaped string is its own text.
            return Some(Cow::Borrowed(inner));
        }
        return serde_json::from_str::<String>(text).ok().map(Cow::Owned);
    }
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(Cow::Borrowed(text))
}

/// Reads a JSON string or number as its exact text (numbers are kept digit for digit).
fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
    raw_scalar_text(raw.get())
        .map(Cow::into_owned)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "expected a string or a non-negative integer, got {}",
                short(raw.get().trim())
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert!(Phone::new("79000000001").is_ok());
        for bad in [
            "",
            "7900000000",
            "790000000011",
            "89000000001",
            "7900000000a",
            "７9000000001",
        ] {
            assert!(Phone::new(bad).is_err(), "{bad}");
        }
        assert!(Phone::from_u64(79_000_000_001).is_ok());
        assert!(Phone::from_u64(89_000_000_001).is_err());
        let p: Phone = serde_json::from_str("\"79000000001\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "79000000001");
        let q: Phone = serde_json::from_str("79000000001").unwrap();
        assert_eq!(p, q);
        assert!(serde_json::from_str::<Phone>("7.9e10").is_err());
        assert!(serde_json::from_str::<Phone>("true").is_err());
    }

    #[test]
    fn order_ids() {
        assert!(OrderId::new("a").is_ok());
        assert!(OrderId::new("я".repeat(36)).is_ok());
        assert!(OrderId::new("я".repeat(37)).is_err());
        assert!(OrderId::new("").is_err());
        assert!(OrderId::new("a\nb").is_err());
        let o: OrderId = serde_json::from_str("1234").unwrap();
        assert_eq!(o.as_str(), "1234");
        assert_eq!(serde_json::to_string(&o).unwrap(), "\"1234\"");
    }

    #[test]
    fn amounts() {
        assert!(TransferAmount::from_minor(1).is_ok());
        assert!(TransferAmount::from_minor(MAX_AMOUNT_MINOR).is_ok());
        assert!(TransferAmount::from_minor(MAX_AMOUNT_MINOR + 1).is_err());
        assert!(TransferAmount::from_minor(0).is_err());
        assert!(Discount::new(Amount::ZERO).is_ok());
        assert!(Discount::new(Amount::from_minor(MAX_AMOUNT_MINOR + 1)).is_err());
    }

    #[test]
    fn payment_ids_keep_all_digits() {
        let big = "1".repeat(43);
        let p: PaymentId = serde_json::from_str(&big).unwrap();
        assert_eq!(p.as_str(), big);
        assert!(serde_json::from_str::<PaymentId>(&"1".repeat(44)).is_err());
        assert!(serde_json::from_str::<PaymentId>("-1").is_err());
        assert!(serde_json::from_str::<PaymentId>("1.5").is_err());
        let s: PaymentId = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(s.as_str(), "42");
    }

    #[test]
    fn statuses_are_open() {
        for s in [
            "NEW",
            "FORM_SHOWED",
            "REJECTED",
            "CANCELED",
            "CONFIRMED",
            "HELD",
        ] {
            let st: TransferStatus = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
        }
        assert!(TransferStatus::Confirmed.is_final());
        assert!(TransferStatus::Rejected.is_final());
        assert!(TransferStatus::Canceled.is_final());
        assert!(!TransferStatus::New.is_final());
        assert!(!TransferStatus::FormShowed.is_final());
        assert!(!TransferStatus::Unknown("HELD".into()).is_final());
    }

    #[test]
    fn fiscal_fields() {
        assert!(FiscalDriveNumber::new("9999078900012345").is_ok());
        assert!(FiscalDriveNumber::new("999907890001234").is_err());
        assert!(FiscalDocumentNumber::new("1").is_ok());
        assert!(FiscalDocumentNumber::new("12345678901").is_err());
        assert!(FiscalSign::new("").is_err());
        assert!(FiscalSign::new("12a").is_err());
        assert_eq!(ReceiptType::from_code(2).unwrap().code(), 2);
        assert!(ReceiptType::from_code(5).is_err());
        assert!(ConfirmationCode::new("1234").is_ok());
        assert!(ConfirmationCode::new("").is_err());
        assert!(ConfirmationCode::new("12 34").is_err());
        assert!(ConfirmationCode::new("12a").is_err());
        assert!(ConfirmationCode::new("1".repeat(19)).is_err());
        assert_eq!(
            format!("{:?}", ConfirmationCode::new("1234").unwrap()),
            "ConfirmationCode([REDACTED])"
        );
    }

    #[test]
    fn pay_dates() {
        let d = PayDate::parse("05.03.2023 14:07:09").unwrap();
        assert_eq!(d.to_string(), "05.03.2023 14:07:09");
        assert_eq!(d, PayDate::new(2023, 3, 5, 14, 7, 9).unwrap());
        assert!(PayDate::parse("29.02.2024 00:00:00").is_ok());
        for bad in [
            "29.02.2023 00:00:00",
            "31.04.2023 00:00:00",
            "05.13.2023 00:00:00",
            "05.03.2023 24:00:00",
            "5.3.2023 14:07:09",
            "05-03-2023 14:07:09",
            "05.03.2023T14:07:09",
            "",
            "05.03.2023 14:07:0я",
        ] {
            assert!(PayDate::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn pay_date_round_trips(y in 2000u16..3000, mo in 1u8..13, d in 1u8..29, h in 0u8..24, mi in 0u8..60, s in 0u8..60) {
            let date = PayDate::new(y, mo, d, h, mi, s).unwrap();
            prop_assert_eq!(PayDate::parse(&date.to_string()).unwrap(), date);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = Phone::new(&s);
            let _ = OrderId::new(s.clone());
            let _ = PayDate::parse(&s);
            let _ = PaymentId::new(s.clone());
        }
    }
}
