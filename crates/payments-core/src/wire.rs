//! Reading what providers send: one rule for each shape they bend.
//!
//! Providers write the same value in several shapes (a flag as `true`, `1` or `"1"`; an id as
//! `42` or `"42"`; a status this version does not know yet). Every provider crate reads them
//! through these helpers, so one rule holds everywhere:
//!
//! - **Booleans** ([`lenient_bool`], [`deserialize_lenient_bool`]): `true`/`false`, `1`/`0`,
//!   `"true"`/`"false"`/`"1"`/`"0"` (ASCII case and surrounding spaces ignored), and `""` as
//!   `false` (an empty flag is not a yes). Any other number or text is not a boolean: `2` is not
//!   "true", it is an answer of an unknown shape.
//! - **Text** ([`text_or_number`], [`deserialize_text_or_number`]): a string as it is, a number
//!   or a boolean as its JSON text (`42`, `250.5`, `true`).
//! - **Open enums** ([`open_enum!`](crate::open_enum)): known values as variants, any other kept
//!   in `Unknown(String)`; `#[non_exhaustive]`, so a new value is never a breaking change.
//! - **Checked newtypes** ([`checked_newtype!`](crate::checked_newtype)): a string checked once,
//!   when it is built.
//! - **Envelopes** ([`messages`], [`carries_something`]): the pieces of a provider's error
//!   object.
//! - **Wall clocks** ([`is_valid_wall_clock`]): the calendar check of a date and time a
//!   provider sends without a zone.
//!
//! None of them quotes the value it refuses: an error names what was expected, never what came.
//!
//! ```
//! use payments_core::wire::{lenient_bool, text_or_number};
//! use serde_json::json;
//!
//! assert_eq!(lenient_bool(&json!("1")), Some(true));
//! assert_eq!(lenient_bool(&json!(0)), Some(false));
//! assert_eq!(lenient_bool(&json!(2)), None);
//! assert_eq!(text_or_number(&json!(42)).as_deref(), Some("42"));
//! assert_eq!(text_or_number(&json!("42")).as_deref(), Some("42"));
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;

/// The one boolean rule, for text. `None`: not a boolean.
fn bool_from_text(text: &str) -> Option<bool> {
    let t = text.trim();
    if t.is_empty() || t == "0" || t.eq_ignore_ascii_case("false") {
        Some(false)
    } else if t == "1" || t.eq_ignore_ascii_case("true") {
        Some(true)
    } else {
        None
    }
}

/// Reads a boolean a provider may send as `true`, `1` or `"1"` (see the [module rule](self)).
/// `None`: the value is not a boolean (or is `null`).
pub fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => bool_from_text(s),
        _ => None,
    }
}

struct BoolVisitor;

const EXPECTED_BOOL: &str = "a boolean (true/false, 1/0, \"1\"/\"0\")";

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_BOOL)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::custom(format_args!("expected {EXPECTED_BOOL}"))),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format_args!("expected {EXPECTED_BOOL}"))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        bool_from_text(v)
            .map(Some)
            .ok_or_else(|| E::custom(format_args!("expected {EXPECTED_BOOL}")))
    }
}

/// `#[serde(default, deserialize_with = "payments_core::wire::deserialize_lenient_bool")]` for
/// an `Option<bool>` field: the [module rule](self); `null` or absent is `None`; any other value
/// is an error that does not quote it.
pub fn deserialize_lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(BoolVisitor)
}

/// Reads text a provider may send as a string, a number or a boolean: a number or boolean
/// becomes its JSON text. `None` for `null`, arrays and objects.
pub fn text_or_number(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads an optional string, borrowed when it holds no escape; when `lenient`, a number or a
/// boolean too, as its text.
struct TextVisitor {
    lenient: bool,
}

impl TextVisitor {
    fn text<'de, E: de::Error>(
        self,
        text: String,
        found: de::Unexpected<'_>,
    ) -> Result<Option<Cow<'de, str>>, E> {
        if self.lenient {
            Ok(Some(Cow::Owned(text)))
        } else {
            Err(E::invalid_type(found, &self))
        }
    }
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.lenient {
            "a string, a number or a boolean"
        } else {
            "a string"
        })
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.text(v.to_string(), de::Unexpected::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.text(v.to_string(), de::Unexpected::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.text(v.to_string(), de::Unexpected::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // The text serde_json gives the number (JSON has no NaN or infinity).
        let text = serde_json::Number::from_f64(v).map_or_else(String::new, |n| n.to_string());
        self.text(text, de::Unexpected::Float(v))
    }
}

/// `#[serde(default, borrow, deserialize_with = "payments_core::wire::deserialize_text")]` for an
/// `Option<Cow<'a, str>>` field that must be a string (a URL): borrowed from the body when it can
/// be; `null` or absent is `None`; a number or boolean is an error.
pub fn deserialize_text<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(TextVisitor { lenient: false })
}

/// `#[serde(default, borrow, deserialize_with = "payments_core::wire::deserialize_text_or_number")]`
/// for an `Option<Cow<'a, str>>` field: a string (borrowed from the body when it can be), or a
/// number or boolean as its text; `null` or absent is `None`. Money read this way stays exact:
/// parse the text with [`crate::Amount`], never through a float.
pub fn deserialize_text_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(TextVisitor { lenient: true })
}

/// What [`open_enum!`] reads: like [`deserialize_text_or_number`], but through
/// `deserialize_any`, so that a required field that is absent keeps serde's "missing field"
/// error (through `deserialize_option` it would read as `null`).
#[doc(hidden)]
pub fn deserialize_open_enum_text<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextVisitor { lenient: true })
}

/// The messages of a provider's error value: a string, every string of a list, or every value
/// of an object (in the object's order); a number or boolean as its text; `null` gives nothing.
///
/// ```
/// use payments_core::wire::messages;
/// use serde_json::json;
/// assert_eq!(messages(&json!({"a": "one", "b": ["two", 3]})), ["one", "two", "3"]);
/// ```
pub fn messages(value: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            Value::Null => {}
            other => out.push(other.to_string()),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

/// Whether an error value carries something: not `null`, `false`, `""`, `[]` or `{}` (providers
/// send all of these for "no error").
pub fn carries_something(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Bool(true) | Value::Number(_) => true,
    }
}

/// The one calendar rule for a wall-clock reading a provider sends (a date and a time of day,
/// no zone): month 1 to 12, the day within that month of that year (29 February only in a
/// Gregorian leap year), hour 0 to 23, minute and second 0 to 59 (no leap second). The year's
/// range is the provider's to set.
///
/// ```
/// use payments_core::wire::is_valid_wall_clock;
///
/// assert!(is_valid_wall_clock(2024, 2, 29, 23, 59, 59));
/// assert!(!is_valid_wall_clock(2023, 2, 29, 12, 0, 0));
/// assert!(!is_valid_wall_clock(2024, 4, 31, 12, 0, 0));
/// assert!(!is_valid_wall_clock(2024, 1, 1, 24, 0, 0));
/// ```
pub fn is_valid_wall_clock(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}

/// An open enum: the known wire values as variants, any other kept as sent in `Unknown(String)`,
/// `#[non_exhaustive]`. It reads a string, a number or a boolean (as its text), and writes its
/// wire text. The Smart Pay code generator emits the same macro.
///
/// ```
/// payments_core::open_enum! {
///     /// A transfer's state.
///     pub enum State {
///         /// Waiting.
///         Pending => "PENDING",
///         /// Done.
///         Done => "DONE",
///     }
/// }
///
/// assert_eq!(State::from_wire("DONE"), State::Done);
/// assert_eq!(State::from_wire("NEW"), State::Unknown("NEW".into()));
/// let read: State = serde_json::from_str("\"PENDING\"").unwrap();
/// assert_eq!(read, State::Pending);
/// assert_eq!(serde_json::to_string(&State::Unknown("X".into())).unwrap(), "\"X\"");
/// assert_eq!(State::Done.to_string(), "DONE");
/// assert_eq!(State::from_wire("done"), State::Unknown("done".into())); // exact by default
///
/// // `#![ignore_ascii_case]` first: known values are matched without regard to ASCII case
/// // (Smart Pay's generated statuses); an unknown one is still kept as sent.
/// payments_core::open_enum! {
///     #![ignore_ascii_case]
///     /// A purchase's status.
///     pub enum Status {
///         /// Paid.
///         Success => "success",
///     }
/// }
/// assert_eq!(Status::from_wire("SUCCESS"), Status::Success);
/// assert_eq!(Status::from_wire("Queued").as_str(), "Queued");
/// ```
#[macro_export]
macro_rules! open_enum {
    (@eq exact, $value:expr, $wire:literal) => { $value == $wire };
    (@eq ignore_ascii_case, $value:expr, $wire:literal) => { $value.eq_ignore_ascii_case($wire) };
    (
        #![ignore_ascii_case]
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $crate::open_enum! { @impl ignore_ascii_case; $(#[$meta])* $vis enum $name { $( $(#[$vmeta])* $variant => $wire, )+ } }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $crate::open_enum! { @impl exact; $(#[$meta])* $vis enum $name { $( $(#[$vmeta])* $variant => $wire, )+ } }
    };
    (
        @impl $mode:ident;
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as sent.
            Unknown(::std::string::String),
        }

        impl $name {
            /// Reads a wire value; one this version does not know is kept in `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                $( if $crate::open_enum!(@eq $mode, value, $wire) {
                    return $name::$variant;
                } )+
                $name::Unknown(::std::borrow::ToOwned::to_owned(value))
            }

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s,
                }
            }

            /// Whether this is a value this version does not know.
            pub fn is_unknown(&self) -> bool {
                ::std::matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                ::std::result::Result::Ok($name::from_wire(s))
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                match $crate::wire::deserialize_open_enum_text(d)? {
                    ::std::option::Option::Some(text) => {
                        ::std::result::Result::Ok($name::from_wire(&text))
                    }
                    ::std::option::Option::None => ::std::result::Result::Err(
                        <D::Error as $crate::__private::serde::de::Error>::custom(
                            "expected a string, found null",
                        ),
                    ),
                }
            }
        }
    };
}

/// A string newtype checked once, when it is built: `new` runs the check, and there is no other
/// way in. Generates `new`, `as_str`, `into_string`, `Display`, `AsRef<str>`, `FromStr`,
/// `TryFrom<String>`, `TryFrom<&str>` and a `Serialize` that writes the string.
///
/// The check is a `fn(&str) -> Result<(), E>`; its error must not quote a secret.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// pub struct Bad(&'static str);
///
/// fn digits(s: &str) -> Result<(), Bad> {
///     if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { Ok(()) } else { Err(Bad("digits")) }
/// }
///
/// payments_core::checked_newtype! {
///     /// A payment id: digits only.
///     pub struct PaymentId(String) checked_by digits => Bad;
/// }
///
/// assert_eq!(PaymentId::new("123").unwrap().as_str(), "123");
/// assert_eq!(PaymentId::new("12a"), Err(Bad("digits")));
/// let parsed: PaymentId = "7".parse().unwrap();
/// assert_eq!(parsed.to_string(), "7");
/// ```
#[macro_export]
macro_rules! checked_newtype {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident(String) checked_by $check:path => $err:ty;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(::std::string::String);

        impl $name {
            /// Checks and wraps the value.
            pub fn new(value: impl ::std::convert::Into<::std::string::String>) -> ::std::result::Result<Self, $err> {
                let value = value.into();
                $check(&value)?;
                ::std::result::Result::Ok($name(value))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, owned.
            pub fn into_string(self) -> ::std::string::String {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $name::new(s)
            }
        }

        impl ::std::convert::TryFrom<::std::string::String> for $name {
            type Error = $err;
            fn try_from(s: ::std::string::String) -> ::std::result::Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $name {
            type Error = $err;
            fn try_from(s: &str) -> ::std::result::Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn wall_clock_follows_the_gregorian_calendar() {
        assert!(
            is_valid_wall_clock(2000, 2, 29, 0, 0, 0),
            "2000 is a leap year (by 400)"
        );
        assert!(
            !is_valid_wall_clock(1900, 2, 29, 0, 0, 0),
            "1900 is not (by 100)"
        );
        assert!(is_valid_wall_clock(2028, 2, 29, 0, 0, 0));
        assert!(!is_valid_wall_clock(2027, 2, 29, 0, 0, 0));
        for (month, last) in [(1, 31), (4, 30), (6, 30), (9, 30), (11, 30), (12, 31)] {
            assert!(is_valid_wall_clock(2026, month, last, 0, 0, 0));
            assert!(!is_valid_wall_clock(2026, month, last + 1, 0, 0, 0));
        }
        assert!(!is_valid_wall_clock(2026, 0, 1, 0, 0, 0));
        assert!(!is_valid_wall_clock(2026, 13, 1, 0, 0, 0));
        assert!(!is_valid_wall_clock(2026, 1, 0, 0, 0, 0));
        assert!(is_valid_wall_clock(2026, 1, 1, 23, 59, 59));
        assert!(!is_valid_wall_clock(2026, 1, 1, 0, 60, 0));
        assert!(!is_valid_wall_clock(2026, 1, 1, 0, 0, 60));
    }

    #[test]
    fn one_boolean_rule_for_values_and_serde() {
        #[derive(Deserialize)]
        struct W {
            #[serde(default, deserialize_with = "deserialize_lenient_bool")]
            flag: Option<bool>,
        }
        let cases = [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!("1"), Some(true)),
            (json!("0"), Some(false)),
            (json!(" TRUE "), Some(true)),
            (json!("False"), Some(false)),
            (json!(""), Some(false)),
            (json!(2), None),
            (json!(-1), None),
            (json!("yes"), None),
            (json!(1.0), None),
            (json!([]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(lenient_bool(&value), expected, "{value}");
            let read: Result<W, _> = serde_json::from_value(json!({ "flag": value.clone() }));
            match expected {
                Some(b) => assert_eq!(read.unwrap().flag, Some(b), "{value}"),
                None => {
                    let e = read.err().expect("not a boolean").to_string();
                    assert!(e.contains("expected a boolean"), "{e}");
                }
            }
        }
        let absent: W = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.flag, None);
        let null: W = serde_json::from_str(r#"{"flag": null}"#).unwrap();
        assert_eq!(null.flag, None);
    }

    #[test]
    fn refused_booleans_are_not_quoted() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct W {
            #[serde(default, deserialize_with = "deserialize_lenient_bool")]
            flag: Option<bool>,
        }
        let e = serde_json::from_str::<W>(r#"{"flag": "s3cr3t-value"}"#).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn text_or_number_borrows_strings_and_keeps_number_text() {
        #[derive(Deserialize)]
        struct W<'a> {
            #[serde(default, borrow, deserialize_with = "deserialize_text_or_number")]
            v: Option<Cow<'a, str>>,
        }
        let body = r#"{"v": "abc"}"#;
        let w: W<'_> = serde_json::from_str(body).unwrap();
        assert!(matches!(w.v, Some(Cow::Borrowed("abc"))));
        for (raw, text) in [
            ("42", "42"),
            ("-7", "-7"),
            ("250.5", "250.5"),
            ("true", "true"),
        ] {
            let body = format!(r#"{{"v": {raw}}}"#);
            let w: W<'_> = serde_json::from_str(&body).unwrap();
            assert_eq!(w.v.as_deref(), Some(text));
            assert_eq!(
                text_or_number(&serde_json::from_str(raw).unwrap()).as_deref(),
                Some(text)
            );
        }
        let w: W<'_> = serde_json::from_str(r#"{"v": null}"#).unwrap();
        assert!(w.v.is_none());
        assert!(serde_json::from_str::<W<'_>>(r#"{"v": [1]}"#).is_err());
        assert_eq!(text_or_number(&json!({"a": 1})), None);
    }

    #[test]
    fn strict_text_refuses_numbers_and_borrows_strings() {
        #[derive(Debug, Deserialize)]
        struct W<'a> {
            #[serde(default, borrow, deserialize_with = "deserialize_text")]
            v: Option<Cow<'a, str>>,
        }
        let w: W<'_> = serde_json::from_str(r#"{"v": "https://x.example/p"}"#).unwrap();
        assert!(matches!(w.v, Some(Cow::Borrowed("https://x.example/p"))));
        let e = serde_json::from_str::<W<'_>>(r#"{"v": 987654321}"#).unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
        let w: W<'_> = serde_json::from_str("{}").unwrap();
        assert!(w.v.is_none());
    }

    #[test]
    fn envelope_pieces() {
        assert!(!carries_something(&json!(null)));
        assert!(!carries_something(&json!([])));
        assert!(!carries_something(&json!({})));
        assert!(!carries_something(&json!("")));
        assert!(!carries_something(&json!(false)));
        assert!(carries_something(&json!({"code": 1})));
        assert!(carries_something(&json!(0)));
        assert_eq!(messages(&json!("x")), ["x"]);
        assert_eq!(messages(&json!(null)), Vec::<String>::new());
        assert_eq!(messages(&json!([["a"], {"k": true}])), ["a", "true"]);
    }

    crate::open_enum! {
        /// Test enum.
        pub enum Colour {
            /// Red.
            Red => "red",
            /// Numeric wire value.
            One => "1",
        }
    }

    #[test]
    fn open_enum_reads_numbers_as_text_and_keeps_unknowns() {
        assert_eq!(serde_json::from_str::<Colour>("1").unwrap(), Colour::One);
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        let other: Colour = serde_json::from_str("\"blue\"").unwrap();
        assert!(other.is_unknown());
        assert_eq!(other.as_str(), "blue");
        assert!(serde_json::from_str::<Colour>("null").is_err());
        assert_eq!("red".parse::<Colour>().unwrap(), Colour::Red);
    }
}
