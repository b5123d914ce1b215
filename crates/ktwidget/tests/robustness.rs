//! Bad input from the wire or the caller is a typed error, never a panic.

use ktwidget::{decode_base64_any, AppKey, CallbackHint, Keypair, Timestamp};
use proptest::prelude::*;

const OK: &str = r#"{"merchant_id":1,"order_id":"1","description":"d","amount":1000,"transaction_hash":"af7e","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"completed","created_at":"2019-02-05T14:23:09+06:00","updated_at":null,"error":null}}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = CallbackHint::parse(&body);
        let _ = CallbackHint::open_and_parse(&body, &Keypair::generate());
        if let Ok(text) = std::str::from_utf8(&body) {
            let _ = Timestamp::parse(text);
            let _ = ktwidget::normalise_phone(text);
            let _ = text.parse::<ktwidget::ServiceId>();
            let _ = decode_base64_any(text, "x");
            let _ = AppKey::from_base64(text);
            let _ = Keypair::from_secret_key_base64(text);
        }
    }

    #[test]
    fn mutated_callbacks_never_panic(pos in 0usize..OK.len(), byte in any::<u8>(), cut in 0usize..OK.len()) {
        let mut body = OK.as_bytes().to_vec();
        body[pos] = byte;
        let _ = CallbackHint::parse(&body);
        let _ = CallbackHint::parse(&OK.as_bytes()[..cut]);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sealed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let kp = Keypair::generate();
        let _ = CallbackHint::open_and_parse(&body, &kp);
        let _ = kp.open(&body);
        // Random bytes sealed to the pair are opened, then refused as JSON, without a panic.
        let sealed = kp.app_key().seal_base64(&body).unwrap();
        let starts_like_json = body.first() == Some(&b'{');
        prop_assert!(CallbackHint::open_and_parse(sealed.as_bytes(), &kp).is_err() || starts_like_json);
    }

    #[test]
    fn callback_amounts_round_trip_exactly(minor in 1u64..=9_007_199_254_740_993u64) {
        let amount = payments_core::Amount::from_minor(minor);
        let body = OK.replace(r#""amount":1000"#, &format!(r#""amount":{}"#, amount.to_compact_string()));
        let n = CallbackHint::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(n.amount(), amount);
        prop_assert_eq!(CallbackHint::parse(n.to_json().as_bytes()).unwrap(), n);
    }
}
