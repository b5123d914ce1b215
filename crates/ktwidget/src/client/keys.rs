//! Keys and sealed boxes.
//!
//! - [`AppKey`]: Ktpay's X25519 public key for your app (`app_key`). Requests are sealed to it.
//! - [`Keypair`]: the merchant's own key pair, whose public half you send to Ktpay.
//! - [`seal`] / [`Keypair::open`]: libsodium's anonymous sealed box (`crypto_box_seal`), through
//!   the `crypto_box` crate, byte-compatible with libsodium (tested against a vector made by
//!   libsodium 1.0.18).
//!
//! Base64 is read in any of the four forms (standard or URL-safe, with or without padding) and
//! always written in standard padded base64, as both official Ktpay clients do.

use std::fmt;

use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};
use payments_core::Secret;
use zeroize::Zeroizing;

/// The length of an X25519 key in bytes.
pub const KEY_LEN: usize = 32;

/// The bytes a sealed box adds to its plaintext (ephemeral public key + MAC).
pub const SEAL_OVERHEAD: usize = 48;

/// Why a key or a sealed box was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not base64 in any of the four accepted forms.
    #[error("the {what} is not base64 (standard or URL-safe, with or without padding)")]
    NotBase64 {
        /// Which key or value.
        what: &'static str,
    },
    /// The key decoded to the wrong number of bytes.
    #[error("the {what} must be {KEY_LEN} bytes, got {len}")]
    WrongLength {
        /// Which key.
        what: &'static str,
        /// The decoded length.
        len: usize,
    },
    /// A secret is shorter than its minimum.
    #[error("the {what} must be at least {min} bytes, got {len}")]
    TooShort {
        /// Which secret.
        what: &'static str,
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        len: usize,
    },
    /// A sealed box could not be made (never expected in practice).
    #[error("sealing failed")]
    Seal,
    /// A sealed box did not open with this key pair: wrong key, or a damaged or forged box.
    #[error("the sealed box does not open with this key pair")]
    Open,
}

impl From<KeyError> for crate::error::Error {
    fn from(value: KeyError) -> Self {
        crate::error::Error::Invalid(value.into())
    }
}

impl From<KeyError> for payments_core::Invalid {
    /// The key's name (`app_key`, `secret_key`, `callback_secret`, `sealed_box`) as the field,
    /// and the message, which never quotes the key.
    fn from(value: KeyError) -> Self {
        let field = match &value {
            KeyError::NotBase64 { what }
            | KeyError::WrongLength { what, .. }
            | KeyError::TooShort { what, .. } => what.replace(' ', "_"),
            KeyError::Seal | KeyError::Open => "sealed_box".to_owned(),
        };
        payments_core::Invalid::new(field, value.to_string())
    }
}

/// Decodes base64 in any of the four forms: standard or URL-safe alphabet, with or without
/// padding. Surrounding whitespace is ignored.
///
/// ```
/// use ktwidget::decode_base64_any;
/// for form in ["+/8=", "+/8", "-_8=", "-_8"] {
///     assert_eq!(decode_base64_any(form, "value").unwrap(), vec![0xfb, 0xff]);
/// }
/// ```
pub fn decode_base64_any(text: &str, what: &'static str) -> Result<Vec<u8>, KeyError> {
    payments_core::encoding::decode_base64_any(text).map_err(|_| KeyError::NotBase64 { what })
}

/// Encodes in standard padded base64 (the form Ktpay's clients send).
pub fn encode_base64(bytes: &[u8]) -> String {
    payments_core::encoding::encode_base64(bytes)
}

fn key_bytes(text: &str, what: &'static str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let raw = Zeroizing::new(decode_base64_any(text, what)?);
    let arr: [u8; KEY_LEN] = raw
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::WrongLength {
            what,
            len: raw.len(),
        })?;
    Ok(Zeroizing::new(arr))
}

/// Ktpay's public key for your app (`app_key`): the X25519 key requests are sealed to.
///
/// It is public, but the SDK still never prints it: `Debug` shows only a short fingerprint.
///
/// ```
/// use ktwidget::AppKey;
/// // The key from Ktpay's documentation, in the form they publish it.
/// let key = AppKey::from_base64("h09acJ8QSLPw40XZxdNfLbq4hXzWInC5zXL319RdXUI=")?;
/// // The same key URL-safe without padding (what libsodium-wrappers' `to_base64` prints).
/// assert_eq!(key, AppKey::from_base64("h09acJ8QSLPw40XZxdNfLbq4hXzWInC5zXL319RdXUI")?);
/// assert_eq!(key.to_base64(), "h09acJ8QSLPw40XZxdNfLbq4hXzWInC5zXL319RdXUI=");
/// assert!(AppKey::from_base64("c2hvcnQ=").is_err()); // 5 bytes
/// # Ok::<(), ktwidget::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AppKey(PublicKey);

impl AppKey {
    /// Reads the key from base64 in any of the four forms; it must decode to 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = key_bytes(text, "app_key")?;
        Ok(AppKey(PublicKey::from(*bytes)))
    }

    /// The key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        AppKey(PublicKey::from(bytes))
    }

    /// The key in standard padded base64.
    pub fn to_base64(&self) -> String {
        encode_base64(self.0.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        self.0.as_bytes()
    }

    /// Seals `plaintext` to this key (libsodium `crypto_box_seal`) and returns the raw box.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .seal(&mut OsRng, plaintext)
            .map_err(|_| KeyError::Seal)
    }

    /// Seals `plaintext` and returns the box in standard padded base64: a Ktpay request body.
    pub fn seal_base64(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        self.seal(plaintext).map(|ct| encode_base64(&ct))
    }

    fn fingerprint(&self) -> String {
        let b = self.0.as_bytes();
        format!("{:02x}{:02x}{:02x}{:02x}…", b[0], b[1], b[2], b[3])
    }
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppKey({})", self.fingerprint())
    }
}

/// Seals `plaintext` to `key` and returns standard padded base64 (`base64(crypto_box_seal(..))`).
pub fn seal(key: &AppKey, plaintext: &[u8]) -> Result<String, KeyError> {
    key.seal_base64(plaintext)
}

/// The merchant's own X25519 key pair.
///
/// Ktpay asks each merchant to generate a sodium key pair and send the public half
/// (base64) to `widget@ktpay.kz`. Keep the secret half: the SDK can use it to open sealed
/// callback bodies (an opt-in guess, see [`crate::CallbackReceiver::open_sealed_bodies_with`]).
///
/// ```
/// use ktwidget::Keypair;
/// let merchant = Keypair::generate();
/// let public_b64 = merchant.public_key_base64(); // send this to Ktpay
/// assert_eq!(public_b64.len(), 44);
/// assert_eq!(format!("{merchant:?}").contains("REDACTED"), true);
///
/// // Anything sealed to the public key opens with the pair.
/// let to_us = ktwidget::AppKey::from_base64(&public_b64)?;
/// let sealed = to_us.seal_base64(b"{\"hello\":1}")?;
/// assert_eq!(&merchant.open_base64(&sealed)?[..], b"{\"hello\":1}");
///
/// // The secret key leaves only on request, as a `Secret`.
/// let secret = merchant.export_secret_key_base64();
/// let again = Keypair::from_secret_key_base64(secret.expose_str().unwrap())?;
/// assert_eq!(again.public_key_base64(), public_b64);
/// # Ok::<(), ktwidget::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Keypair {
    secret: SecretKey,
    public: PublicKey,
}

impl Keypair {
    /// A fresh random key pair (libsodium `crypto_box_keypair`), from the OS random source.
    pub fn generate() -> Self {
        Keypair::from_secret(SecretKey::generate(&mut OsRng))
    }

    fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Keypair { secret, public }
    }

    /// The pair of a stored 32-byte secret key.
    pub fn from_secret_key(secret: &Secret) -> Result<Self, KeyError> {
        let arr: [u8; KEY_LEN] = secret
            .expose()
            .try_into()
            .map_err(|_| KeyError::WrongLength {
                what: "secret key",
                len: secret.len(),
            })?;
        let arr = Zeroizing::new(arr);
        Ok(Keypair::from_secret(SecretKey::from(*arr)))
    }

    /// The pair of a stored secret key in base64 (any of the four forms).
    pub fn from_secret_key_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = key_bytes(text, "secret key")?;
        Ok(Keypair::from_secret(SecretKey::from(*bytes)))
    }

    /// The public key's raw bytes.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        self.public.as_bytes()
    }

    /// The public key in standard padded base64: what you send to Ktpay.
    pub fn public_key_base64(&self) -> String {
        encode_base64(self.public.as_bytes())
    }

    /// The public key as an [`AppKey`] (to seal something to this pair, e.g. in tests).
    pub fn app_key(&self) -> AppKey {
        AppKey(self.public.clone())
    }

    /// Exports the raw 32-byte secret key.
    pub fn export_secret_key(&self) -> Secret {
        let bytes = Zeroizing::new(self.secret.to_bytes());
        Secret::new(bytes.to_vec())
    }

    /// Exports the secret key in standard padded base64.
    pub fn export_secret_key_base64(&self) -> Secret {
        let bytes = Zeroizing::new(self.secret.to_bytes());
        Secret::from(encode_base64(bytes.as_slice()))
    }

    /// Opens a raw sealed box (libsodium `crypto_box_seal_open`).
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.secret
            .unseal(sealed)
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Open)
    }

    /// Opens a sealed box given in base64 (any of the four forms).
    pub fn open_base64(&self, sealed: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let raw = decode_base64_any(sealed, "sealed box")?;
        self.open(&raw)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public_key_base64())
            .field("secret", &payments_core::secret::REDACTED)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    #[test]
    fn four_base64_forms_are_the_same_key() {
        let kp = Keypair::generate();
        let bytes = kp.public_key();
        let forms = [
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
        ];
        for f in &forms {
            assert_eq!(AppKey::from_base64(f).unwrap().as_bytes(), bytes, "{f}");
            assert_eq!(AppKey::from_base64(f).unwrap().to_base64(), forms[0]);
        }
    }

    #[test]
    fn wrong_lengths_and_garbage_are_typed_errors() {
        assert_eq!(
            AppKey::from_base64(&STANDARD.encode([0u8; 31])),
            Err(KeyError::WrongLength {
                what: "app_key",
                len: 31
            })
        );
        assert!(matches!(
            AppKey::from_base64(&STANDARD.encode([0u8; 33])),
            Err(KeyError::WrongLength { len: 33, .. })
        ));
        assert_eq!(
            AppKey::from_base64("not base64!"),
            Err(KeyError::NotBase64 { what: "app_key" })
        );
        assert!(AppKey::from_base64("").is_err());
        assert!(Keypair::from_secret_key(&Secret::from(vec![1u8; 5])).is_err());
    }

    #[test]
    fn seal_opens_and_is_randomised() {
        let kp = Keypair::generate();
        let key = kp.app_key();
        let a = key.seal_base64(b"payload").unwrap();
        let b = key.seal_base64(b"payload").unwrap();
        assert_ne!(a, b);
        assert!(a.ends_with('=') || a.len().is_multiple_of(4));
        let raw = STANDARD.decode(&a).unwrap();
        assert_eq!(raw.len(), 7 + SEAL_OVERHEAD);
        assert_eq!(&kp.open_base64(&a).unwrap()[..], b"payload");
        // Another pair cannot open it; a flipped byte does not open.
        assert_eq!(
            Keypair::generate().open_base64(&a).unwrap_err(),
            KeyError::Open
        );
        let mut bad = raw.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(kp.open(&bad).unwrap_err(), KeyError::Open);
        assert_eq!(kp.open(&[]).unwrap_err(), KeyError::Open);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let kp = Keypair::generate();
        let secret = kp.export_secret_key_base64();
        let dbg = format!("{kp:?}");
        assert!(!dbg.contains(secret.expose_str().unwrap()));
        assert!(format!("{:?}", kp.app_key()).starts_with("AppKey("));
        assert!(!format!("{:?}", kp.app_key()).contains(&kp.public_key_base64()));
        assert_eq!(kp.export_secret_key().len(), KEY_LEN);
    }
}
