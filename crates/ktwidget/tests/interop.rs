//! Known-answer interop: a sealed box made once by real libsodium 1.0.18 (`crypto_box_seal`,
//! through Python ctypes; see `fixtures/make_sealed_box.py`) opens with this crate's
//! `crypto_box`-based implementation, and this crate's boxes open with the same key pair.

use ktwidget::{decode_base64_any, encode_base64};
use ktwidget::{AppKey, Keypair, Secret};

struct Fixture {
    public_key: String,
    secret_key: String,
    plaintext: Vec<u8>,
    ciphertext: String,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/libsodium_sealed_box.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("fixture is JSON");
    let field = |k: &str| v[k].as_str().expect(k).to_owned();
    Fixture {
        public_key: field("public_key"),
        secret_key: field("secret_key"),
        plaintext: decode_base64_any(&field("plaintext"), "plaintext").unwrap(),
        ciphertext: field("ciphertext"),
    }
}

#[test]
fn libsodium_sealed_box_opens_with_crypto_box() {
    let f = fixture();
    let kp = Keypair::from_secret_key_base64(&f.secret_key).unwrap();
    // crypto_box derives the same public key libsodium generated.
    assert_eq!(kp.public_key_base64(), f.public_key);
    let opened = kp.open_base64(&f.ciphertext).unwrap();
    assert_eq!(&opened[..], &f.plaintext[..]);
    // The plaintext is the order JSON the fixture script sealed.
    let order: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(order["order"]["order_id"], "Order1");
    // The box layout: 32-byte ephemeral key + 16-byte MAC + plaintext.
    let raw = decode_base64_any(&f.ciphertext, "ciphertext").unwrap();
    assert_eq!(raw.len(), f.plaintext.len() + ktwidget::SEAL_OVERHEAD);
}

#[test]
fn libsodium_box_opens_from_every_base64_form() {
    let f = fixture();
    let kp = Keypair::from_secret_key(&Secret::from(
        decode_base64_any(&f.secret_key, "sk").unwrap(),
    ))
    .unwrap();
    let raw = decode_base64_any(&f.ciphertext, "ct").unwrap();
    use base64::Engine as _;
    for form in [
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw),
        base64::engine::general_purpose::URL_SAFE.encode(&raw),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
    ] {
        assert_eq!(&kp.open_base64(&form).unwrap()[..], &f.plaintext[..]);
    }
    assert_eq!(encode_base64(&raw), f.ciphertext);
}

#[test]
fn crypto_box_seals_to_the_libsodium_key() {
    let f = fixture();
    let key = AppKey::from_base64(&f.public_key).unwrap();
    let sealed = key.seal_base64(&f.plaintext).unwrap();
    let kp = Keypair::from_secret_key_base64(&f.secret_key).unwrap();
    assert_eq!(&kp.open_base64(&sealed).unwrap()[..], &f.plaintext[..]);
    // A tampered libsodium box is refused, not mis-opened.
    let mut raw = decode_base64_any(&f.ciphertext, "ct").unwrap();
    raw[40] ^= 0x80;
    assert!(kp.open(&raw).is_err());
}
