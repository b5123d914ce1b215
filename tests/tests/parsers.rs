//! Property tests of every inbound parser: the Ktpay callback, the Kupi-Kupi notification and
//! the Smart Pay QR payload. Arbitrary bytes and mutated valid bodies never panic (they parse or
//! fail with a typed error), and valid bodies round-trip through their normalised JSON.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use payments_core::{Amount, Secret};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

// --- Mutations -----------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize),
    Insert(usize, u8),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn mutate(body: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = body.to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match *m {
            Mutation::Flip(p, x) => {
                if let Some(byte) = b.get_mut(p % len) {
                    *byte = x;
                }
            }
            Mutation::Delete(p) => {
                if !b.is_empty() {
                    b.remove(p % len);
                }
            }
            Mutation::Insert(p, x) => b.insert(p % (b.len() + 1), x),
            Mutation::Truncate(p) => b.truncate(p % len),
            Mutation::Duplicate(a, n) => {
                let start = a % len;
                let end = (start + n % 16).min(b.len());
                let piece = b.get(start..end).unwrap_or_default().to_vec();
                let at = end.min(b.len());
                b.splice(at..at, piece);
            }
        }
    }
    b
}

// --- Ktpay callbacks -------------------------------------------------------------------------

/// A timestamp in a form Ktpay could plausibly send: RFC 3339 with `T` or a space, an offset
/// with or without a colon (PHP's `DATE_ISO8601`), or none at all (PHP's `Y-m-d H:i:s`).
fn timestamp() -> impl Strategy<Value = String> {
    (
        2000i32..2100,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        -12i8..=14,
        prop::bool::ANY,
        0u8..3,
    )
        .prop_map(|(y, mo, d, h, mi, s, off, space, offset_form)| {
            let sep = if space { ' ' } else { 'T' };
            let sign = if off < 0 { '-' } else { '+' };
            let hours = off.unsigned_abs();
            let offset = match offset_form {
                0 => format!("{sign}{hours:02}:00"),
                1 => format!("{sign}{hours:02}00"),
                _ => String::new(),
            };
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{offset}")
        })
}

fn ktpay_status() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("pending".to_owned()),
        Just("authorized".to_owned()),
        Just("success".to_owned()),
        Just("error".to_owned()),
        Just("denied".to_owned()),
        Just("completed".to_owned()),
        "[a-z_]{3,12}",
    ]
}

/// A valid callback body and the values it carries.
#[derive(Clone, Debug)]
struct KtpayCallback {
    body: Vec<u8>,
    order_id: String,
    amount: Amount,
    hash: String,
    status: String,
    description: Option<String>,
}

fn ktpay_callback() -> impl Strategy<Value = KtpayCallback> {
    (
        "[A-Za-z0-9_-]{1,36}",
        1u64..=1_000_000_000_000,
        "[a-f0-9]{40}",
        ktpay_status(),
        proptest::option::of(".{0,40}"),
        timestamp(),
        proptest::option::of(timestamp()),
        prop::bool::ANY,
        proptest::option::of(1u64..1_000_000),
    )
        .prop_map(
            |(order_id, minor, hash, status, description, created, updated, amount_as_string, merchant)| {
                let amount = Amount::from_minor(minor);
                let amount_json = if amount_as_string {
                    Value::String(amount.to_compact_string())
                } else {
                    serde_json::from_str(&amount.to_compact_string()).expect("a JSON number")
                };
                let error = if status == "error" || status == "denied" {
                    json!({"error_type": "ERROR_PAYMENT", "error_message": "KKB rejected payment"})
                } else {
                    Value::Null
                };
                let body = json!({
                    "merchant_id": merchant,
                    "order_id": order_id,
                    "description": description,
                    "amount": amount_json,
                    "transaction_hash": hash,
                    "created_at": created,
                    "updated_at": updated,
                    "status": {"status": status, "created_at": created, "updated_at": updated, "error": error},
                });
                KtpayCallback {
                    body: serde_json::to_vec(&body).unwrap(),
                    order_id,
                    amount,
                    hash,
                    status,
                    description,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ktpay_callback_arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = ktwidget::CallbackHint::parse(&body);
        let _ = ktwidget::CallbackHint::open_and_parse(&body, &ktwidget::Keypair::generate());
    }

    #[test]
    fn ktpay_callback_mutations_never_panic(cb in ktpay_callback(), ms in proptest::collection::vec(mutation(), 1..6)) {
        let body = mutate(&cb.body, &ms);
        if let Ok(n) = ktwidget::CallbackHint::parse(&body) {
            // Whatever parsed is a whole callback that round-trips.
            prop_assert_eq!(ktwidget::CallbackHint::parse(n.to_json().as_bytes()).unwrap(), n);
        }
    }

    #[test]
    fn ktpay_callback_valid_bodies_round_trip(cb in ktpay_callback()) {
        let n = ktwidget::CallbackHint::parse(&cb.body).unwrap();
        prop_assert_eq!(n.order_id().as_str(), cb.order_id.as_str());
        prop_assert_eq!(n.amount(), cb.amount);
        prop_assert_eq!(n.transaction_hash().as_str(), cb.hash.as_str());
        prop_assert_eq!(n.status().as_str(), cb.status.as_str());
        prop_assert_eq!(n.description(), cb.description.as_deref());
        let again = ktwidget::CallbackHint::parse(n.to_json().as_bytes()).unwrap();
        prop_assert_eq!(again, n);
    }
}

// --- Kupi-Kupi notifications ---------------------------------------------------------------

const KUPI_SECRET: &str = "yIKirCvplm8N1D9g";

fn kupi_status() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NEW".to_owned()),
        Just("FORM_SHOWED".to_owned()),
        Just("REJECTED".to_owned()),
        Just("CANCELED".to_owned()),
        Just("CONFIRMED".to_owned()),
        "[A-Z_]{3,12}",
    ]
}

/// A valid notification as a map (without a token) and whether to sign it.
fn kupi_notification() -> impl Strategy<Value = (Map<String, Value>, bool)> {
    (
        prop::bool::ANY,
        kupi_status(),
        "[0-9]{1,3}",
        proptest::option::of("[ -~]{1,30}"),
        "[A-Za-z0-9]{1,20}",
        "[A-Za-z0-9_-]{1,36}",
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(
            |(status, transfer, code, message, uid, order, other_uid_field, sign)| {
                let mut m = Map::new();
                m.insert("status".into(), Value::Bool(status));
                m.insert("transferStatus".into(), Value::String(transfer));
                m.insert("errorCode".into(), Value::String(code));
                if let Some(msg) = message {
                    m.insert("message".into(), Value::String(msg));
                }
                let uid_field = if other_uid_field {
                    "platformUid"
                } else {
                    "uidPlatform"
                };
                m.insert(uid_field.into(), Value::String(uid));
                m.insert("orderId".into(), Value::String(order));
                (m, sign)
            },
        )
}

fn kupi_body(fields: &Map<String, Value>, sign: bool) -> Vec<u8> {
    let mut m = fields.clone();
    if sign {
        let t = kupikupi::token(fields, &Secret::from(KUPI_SECRET)).unwrap();
        m.insert("token".into(), Value::String(t.as_str().to_owned()));
    }
    serde_json::to_vec(&m).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kupi_notification_arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let v = kupikupi::NotificationVerifier::new("M2hULcD58iYGkmS7", Secret::from(KUPI_SECRET));
        if let Ok(n) = kupikupi::Notification::parse(&body) {
            let _ = n.verify(&v);
        }
    }

    #[test]
    fn kupi_notification_mutations_never_panic((fields, sign) in kupi_notification(), ms in proptest::collection::vec(mutation(), 1..6)) {
        let body = mutate(&kupi_body(&fields, sign), &ms);
        let uid = fields.get("uidPlatform").or(fields.get("platformUid")).and_then(Value::as_str).unwrap().to_owned();
        let v = kupikupi::NotificationVerifier::new(uid, Secret::from(KUPI_SECRET));
        if let Ok(n) = kupikupi::Notification::parse(&body) {
            let _ = n.verify(&v);
        }
    }

    #[test]
    fn kupi_notification_valid_bodies_round_trip((fields, sign) in kupi_notification()) {
        let n = kupikupi::Notification::parse(&kupi_body(&fields, sign)).unwrap();
        prop_assert_eq!(n.status, fields["status"].as_bool().unwrap());
        prop_assert_eq!(n.transfer_status.as_str(), fields["transferStatus"].as_str().unwrap());
        prop_assert_eq!(n.error_code.as_str(), fields["errorCode"].as_str().unwrap());
        prop_assert_eq!(n.order_id.as_str(), fields["orderId"].as_str().unwrap());
        prop_assert_eq!(n.is_signed(), sign);
        // A signed notification verifies with the secret and fails with another.
        let v = kupikupi::NotificationVerifier::new(n.platform_uid.clone(), Secret::from(KUPI_SECRET));
        prop_assert!(n.verify(&v).is_ok());
        if sign {
            let wrong = kupikupi::NotificationVerifier::new(n.platform_uid.clone(), Secret::from("another-secret"));
            prop_assert!(n.verify(&wrong).is_err());
        }
        // The normalised JSON parses back to the same notification (unsigned: the token is not
        // part of it).
        let again = kupikupi::Notification::parse(&serde_json::to_vec(&n.to_json()).unwrap()).unwrap();
        prop_assert_eq!(&again.platform_uid, &n.platform_uid);
        prop_assert_eq!(&again.order_id, &n.order_id);
        prop_assert_eq!(&again.transfer_status, &n.transfer_status);
        prop_assert_eq!(&again.message, &n.message);
        prop_assert_eq!(again.status, n.status);
        if !sign {
            prop_assert_eq!(again, n);
        }
    }
}

// --- Smart Pay QR payloads -----------------------------------------------------------------

fn qr_payload() -> impl Strategy<Value = (String, Vec<u8>, Vec<u8>, String)> {
    (
        "[0-9]{1,12}",
        proptest::collection::vec(any::<u8>(), 1..96),
        proptest::collection::vec(any::<u8>(), 1..96),
        0usize..4,
    )
        .prop_map(|(id, enc, sign, form)| {
            let engine = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD][form];
            let payload = json!({"id_loyalty": id, "encrypted": engine.encode(&enc), "sign": engine.encode(&sign)})
                .to_string();
            (id, enc, sign, payload)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn qr_arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&body);
        let _ = smartpay::QrCode::parse(&text);
    }

    #[test]
    fn qr_mutations_never_panic((_, _, _, payload) in qr_payload(), ms in proptest::collection::vec(mutation(), 1..6)) {
        let body = mutate(payload.as_bytes(), &ms);
        if let Ok(qr) = smartpay::QrCode::parse(&String::from_utf8_lossy(&body)) {
            prop_assert_eq!(smartpay::QrCode::parse(&qr.to_json()).unwrap(), qr);
        }
    }

    #[test]
    fn qr_valid_payloads_round_trip((id, enc, sign, payload) in qr_payload()) {
        let qr = smartpay::QrCode::parse(&payload).unwrap();
        prop_assert_eq!(qr.id_loyalty(), id.as_str());
        prop_assert_eq!(qr.encrypted_bytes(), &enc[..]);
        prop_assert_eq!(qr.sign_bytes(), &sign[..]);
        prop_assert_eq!(smartpay::QrCode::parse(&qr.to_json()).unwrap(), qr);
    }
}
