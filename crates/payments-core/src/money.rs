//! [`Amount`]: money in integer minor units (kopecks, tiyn), never `f64`.
//!
//! Conversions from and to decimal text are exact. The serde helper modules [`minor_units`] and
//! [`decimal`] let a provider crate pick its wire format per field: an integer count of minor
//! units (Kupi-Kupi, Smart Pay) or a JSON number with at most two decimals (Ktpay).

use std::fmt;
use std::str::FromStr;

/// An amount of money in minor units (1/100 of the major unit). Never negative.
///
/// ```
/// use payments_core::Amount;
///
/// let a: Amount = "1000.5".parse()?;
/// assert_eq!(a.minor(), 100_050);
/// assert_eq!(a.to_string(), "1000.50");
/// assert_eq!(a.to_compact_string(), "1000.5");
/// assert_eq!(Amount::from_minor(250_00).to_compact_string(), "250");
/// assert!("10.123".parse::<Amount>().is_err());
/// assert!("-1".parse::<Amount>().is_err());
/// # Ok::<(), payments_core::AmountError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

/// Why a text or number could not become an [`Amount`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The text was empty.
    #[error("amount is empty")]
    Empty,
    /// The amount was negative.
    #[error("amount must not be negative")]
    Negative,
    /// More than two digits after the decimal point.
    #[error("amount has more than 2 decimal places")]
    TooManyDecimals,
    /// Something other than ASCII digits and at most one `.` between digits.
    #[error("amount is not a decimal number with at most 2 decimal places: {0:?}")]
    Malformed(String),
    /// The amount does not fit in the range allowed (for the type or for a provider).
    #[error("amount is too large (maximum {max} minor units)")]
    Overflow {
        /// The largest number of minor units allowed.
        max: u64,
    },
    /// Zero where a positive amount is required.
    #[error("amount must be greater than zero")]
    Zero,
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The largest representable amount.
    pub const MAX: Amount = Amount(u64::MAX);

    /// An amount of `minor` minor units (kopecks): `Amount::from_minor(150)` is 1.50.
    pub const fn from_minor(minor: u64) -> Self {
        Amount(minor)
    }

    /// An amount of whole major units (roubles, tenge). Fails on overflow.
    pub fn from_major(major: u64) -> Result<Self, AmountError> {
        major
            .checked_mul(100)
            .map(Amount)
            .ok_or(AmountError::Overflow { max: u64::MAX })
    }

    /// The number of minor units.
    pub const fn minor(self) -> u64 {
        self.0
    }

    /// The whole major units (the part before the decimal point).
    pub const fn major_part(self) -> u64 {
        self.0 / 100
    }

    /// The minor units after the decimal point (0..=99).
    pub const fn minor_part(self) -> u8 {
        (self.0 % 100) as u8
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// Subtracts, or `None` when the result would be negative.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// Fails unless the amount is positive.
    pub fn require_positive(self) -> Result<Self, AmountError> {
        if self.0 == 0 {
            Err(AmountError::Zero)
        } else {
            Ok(self)
        }
    }

    /// Fails when the amount has more than `max` minor units (a provider's column width).
    pub fn require_at_most(self, max: u64) -> Result<Self, AmountError> {
        if self.0 > max {
            Err(AmountError::Overflow { max })
        } else {
            Ok(self)
        }
    }

    /// Parses decimal text with at most two fraction digits: `"1000"`, `"1000.5"`, `"1000.50"`.
    pub fn parse_decimal(text: &str) -> Result<Self, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let malformed = || AmountError::Malformed(short(text));
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let frac_minor = match frac {
            None => 0,
            Some(f) => {
                if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed());
                }
                if f.len() > 2 {
                    return Err(AmountError::TooManyDecimals);
                }
                let v: u64 = f.parse().map_err(|_| malformed())?;
                if f.len() == 1 {
                    v * 10
                } else {
                    v
                }
            }
        };
        let overflow = AmountError::Overflow { max: u64::MAX };
        // Digits only, so the only parse failure left is overflow.
        let major: u64 = int.parse().map_err(|_| overflow.clone())?;
        major
            .checked_mul(100)
            .and_then(|m| m.checked_add(frac_minor))
            .map(Amount)
            .ok_or(overflow)
    }

    /// Always two decimals: `1000.50`, `0.05`, `12.00`. The same as `Display`.
    pub fn to_decimal_string(self) -> String {
        self.to_string()
    }

    /// The shortest exact decimal: `1000.5`, `0.05`, `12`.
    pub fn to_compact_string(self) -> String {
        let (major, minor) = (self.major_part(), self.minor_part());
        if minor == 0 {
            major.to_string()
        } else if minor % 10 == 0 {
            format!("{major}.{}", minor / 10)
        } else {
            format!("{major}.{minor:02}")
        }
    }
}

fn short(text: &str) -> String {
    text.chars().take(32).collect()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.major_part(), self.minor_part())
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse_decimal(s)
    }
}

/// Serde as an integer number of minor units (`25000` for 250.00). Deserialising also accepts a
/// string of digits, as some providers' own clients send one.
///
/// ```
/// use payments_core::Amount;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Body {
///     #[serde(with = "payments_core::money::minor_units")]
///     amount: Amount,
/// }
/// let b: Body = serde_json::from_str(r#"{"amount":"25000"}"#).unwrap();
/// assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"amount":25000}"#);
/// ```
pub mod minor_units {
    use super::Amount;
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;
    use std::fmt;

    /// Writes the minor units as an integer.
    pub fn serialize<S: Serializer>(amount: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(amount.minor())
    }

    /// Reads an integer (or a string of digits) of minor units.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer number of minor units")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::from_minor(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map(Amount::from_minor)
                    .map_err(|_| E::custom("amount must not be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!(
                        "expected an integer number of minor units, got {:?}",
                        super::short(v)
                    )));
                }
                v.parse()
                    .map(Amount::from_minor)
                    .map_err(|_| E::custom("amount overflows"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serde as a JSON number in major units with at most two decimals (`1000.5` for 1000.50),
/// written and read exactly, never through `f64`. Deserialising also accepts a decimal string.
///
/// ```
/// use payments_core::Amount;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Order {
///     #[serde(with = "payments_core::money::decimal")]
///     amount: Amount,
/// }
/// let o: Order = serde_json::from_str(r#"{"amount":1000.5}"#).unwrap();
/// assert_eq!(o.amount.minor(), 100_050);
/// assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"amount":1000.5}"#);
/// assert!(serde_json::from_str::<Order>(r#"{"amount":0.001}"#).is_err());
/// ```
pub mod decimal {
    use super::Amount;
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::{self, Serialize, Serializer};
    use serde_json::value::RawValue;

    /// Writes the amount as a JSON number with at most two decimals.
    pub fn serialize<S: Serializer>(amount: &Amount, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(amount.to_compact_string()).map_err(ser::Error::custom)?;
        raw.serialize(s)
    }

    /// Reads a JSON number or a decimal string with at most two decimals.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner,
            None => text,
        };
        Amount::parse_decimal(text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(Amount::parse_decimal("1000").unwrap().minor(), 100_000);
        assert_eq!(Amount::parse_decimal("1000.5").unwrap().minor(), 100_050);
        assert_eq!(Amount::parse_decimal("1000.50").unwrap().minor(), 100_050);
        assert_eq!(Amount::parse_decimal("0.05").unwrap().minor(), 5);
        assert_eq!(Amount::parse_decimal("007.1").unwrap().minor(), 710);
    }

    #[test]
    fn rejects_bad_text_with_the_right_error() {
        assert_eq!(Amount::parse_decimal(""), Err(AmountError::Empty));
        assert_eq!(Amount::parse_decimal("-1"), Err(AmountError::Negative));
        assert_eq!(
            Amount::parse_decimal("1.123"),
            Err(AmountError::TooManyDecimals)
        );
        for bad in [
            "1.", ".5", "1,5", "1e3", "+1", " 1", "1 ", "1.2.3", "abc", "1.-1",
        ] {
            assert!(
                matches!(Amount::parse_decimal(bad), Err(AmountError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Amount::parse_decimal("184467440737095516.16"),
            Err(AmountError::Overflow { max: u64::MAX })
        );
        assert_eq!(
            Amount::parse_decimal("99999999999999999999999"),
            Err(AmountError::Overflow { max: u64::MAX })
        );
        assert_eq!(
            Amount::parse_decimal("184467440737095516.15").unwrap(),
            Amount::MAX
        );
    }

    #[test]
    fn formats() {
        assert_eq!(Amount::from_minor(5).to_string(), "0.05");
        assert_eq!(Amount::from_minor(5).to_compact_string(), "0.05");
        assert_eq!(Amount::from_minor(50).to_compact_string(), "0.5");
        assert_eq!(Amount::from_minor(0).to_compact_string(), "0");
        assert_eq!(Amount::from_minor(100).to_decimal_string(), "1.00");
        assert_eq!(Amount::MAX.to_string(), "184467440737095516.15");
    }

    #[test]
    fn arithmetic_and_limits() {
        let a = Amount::from_minor(100);
        assert_eq!(a.checked_sub(Amount::from_minor(101)), None);
        assert_eq!(Amount::MAX.checked_add(a), None);
        assert_eq!(Amount::ZERO.require_positive(), Err(AmountError::Zero));
        assert_eq!(
            a.require_at_most(99),
            Err(AmountError::Overflow { max: 99 })
        );
        assert_eq!(Amount::from_major(3).unwrap().minor(), 300);
        assert!(Amount::from_major(u64::MAX).is_err());
    }
}
