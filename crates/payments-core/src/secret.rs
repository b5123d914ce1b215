//! [`Secret`]: a value that never shows itself.
//!
//! App keys, secret keys, private keys, cookies and tokens are all held in a [`Secret`]. Its
//! `Debug` and `Display` print `[REDACTED]`, its memory is zeroised when it is dropped (through
//! [`secrecy`] and [`zeroize`]), and [`Secret::ct_eq`] compares two secrets in constant time
//! (through [`subtle`]). Building one from a `Vec<u8>` or a `String` leaves no unzeroised copy
//! behind (see [`Secret::new`]).

use std::fmt;

use secrecy::{ExposeSecret, SecretBox};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// The text every secret shows in `Debug` and `Display`.
pub const REDACTED: &str = "[REDACTED]";

/// A secret byte string (usually UTF-8 text): a key, a token, a cookie or a password.
///
/// ```
/// use payments_core::Secret;
///
/// let key = Secret::from("yIKirCvplm8N1D9g");
/// assert_eq!(format!("{key:?}"), "Secret([REDACTED])");
/// assert_eq!(key.to_string(), "[REDACTED]");
/// assert!(key.ct_eq_bytes(b"yIKirCvplm8N1D9g"));
/// assert_eq!(key.expose_str(), Some("yIKirCvplm8N1D9g"));
/// ```
pub struct Secret(SecretBox<[u8]>);

impl Secret {
    /// Wraps bytes as a secret, leaving no unzeroised copy behind.
    ///
    /// When the vector is exactly full (`capacity() == len()`), its buffer is moved into the
    /// secret, not copied. Otherwise the bytes are copied into a buffer of the exact size and
    /// the vector's whole buffer, spare capacity included, is zeroised before it is freed:
    /// `Vec::into_boxed_slice` would instead reallocate and free the old buffer as it was.
    pub fn new(mut bytes: Vec<u8>) -> Self {
        Secret(SecretBox::new(take_exact(&mut bytes)))
    }

    /// The secret's bytes. Call this only at the point of use (hashing, sealing, sending).
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The secret as text, when it is valid UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    /// The length of the secret in bytes.
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Compares two secrets in constant time (for equal lengths; the length itself is not hidden).
    pub fn ct_eq(&self, other: &Secret) -> bool {
        self.ct_eq_bytes(other.expose())
    }

    /// Compares the secret with candidate bytes in constant time. An empty or prefix candidate
    /// never matches a longer secret.
    pub fn ct_eq_bytes(&self, candidate: &[u8]) -> bool {
        ct_eq(self.expose(), candidate)
    }
}

/// Moves `bytes` into a box of its exact length. A vector with spare capacity is copied
/// instead, and its whole buffer is then zeroised (it is left full of zeros, `len ==
/// capacity`, for the caller to drop).
fn take_exact(bytes: &mut Vec<u8>) -> Box<[u8]> {
    if bytes.len() == bytes.capacity() {
        // No reallocation: `into_boxed_slice` keeps this very buffer.
        return std::mem::take(bytes).into_boxed_slice();
    }
    let exact: Box<[u8]> = bytes.as_slice().into();
    // Initialise the spare capacity, so that the volatile zeroing below covers all of it.
    bytes.resize(bytes.capacity(), 0);
    bytes.as_mut_slice().zeroize();
    exact
}

/// Compares two byte strings in constant time. Different lengths are never equal.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

impl Clone for Secret {
    fn clone(&self) -> Self {
        Secret::new(self.expose().to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(")?;
        f.write_str(REDACTED)?;
        f.write_str(")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(value: Vec<u8>) -> Self {
        Secret::new(value)
    }
}

impl From<&[u8]> for Secret {
    fn from(value: &[u8]) -> Self {
        Secret::new(value.to_vec())
    }
}

impl PartialEq for Secret {
    /// Constant-time equality.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_empty_never_match() {
        let s = Secret::from("abcdef");
        assert!(!s.ct_eq_bytes(b""));
        assert!(!s.ct_eq_bytes(b"abc"));
        assert!(!s.ct_eq_bytes(b"abcdefg"));
        assert!(s.ct_eq_bytes(b"abcdef"));
        assert!(!Secret::from("").ct_eq_bytes(b"a"));
    }

    #[test]
    fn a_full_vector_is_moved_not_copied() {
        let mut bytes = Vec::with_capacity(6);
        bytes.extend_from_slice(b"s3cr3t");
        let buffer = bytes.as_ptr();
        let s = Secret::new(bytes);
        assert_eq!(
            s.expose().as_ptr(),
            buffer,
            "the same buffer, no copy left behind"
        );
        assert_eq!(s.expose(), b"s3cr3t");
    }

    #[test]
    fn spare_capacity_is_zeroised_before_the_buffer_is_freed() {
        // Spare capacity that once held secret bytes (a string that was truncated).
        let mut bytes = b"s3cr3t-and-more".to_vec();
        bytes.truncate(6);
        assert!(bytes.capacity() > bytes.len());
        let capacity = bytes.capacity();
        let buffer = bytes.as_ptr();
        let exact = take_exact(&mut bytes);
        assert_eq!(&*exact, b"s3cr3t");
        assert_ne!(exact.as_ptr(), buffer);
        // The old buffer, the spare capacity included, is all zeros before it is freed.
        assert_eq!(bytes.as_ptr(), buffer);
        assert_eq!(bytes.len(), capacity);
        assert!(bytes.iter().all(|b| *b == 0), "{bytes:?}");

        let mut text = String::with_capacity(64);
        text.push_str("kassa-password");
        let s = Secret::from(text);
        assert_eq!(s.expose_str(), Some("kassa-password"));
        assert_eq!(s.len(), 14);
    }

    #[test]
    fn clone_is_equal_and_redacted() {
        let s = Secret::from(vec![1u8, 2, 3]);
        let c = s.clone();
        assert_eq!(s, c);
        assert_eq!(format!("{c}"), REDACTED);
        assert_eq!(format!("{c:#?}"), "Secret([REDACTED])");
        assert_eq!(c.len(), 3);
        assert!(!c.is_empty());
        assert_eq!(c.expose_str(), Some("\u{1}\u{2}\u{3}"));
    }
}
