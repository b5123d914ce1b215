//! Lenient base64 input, strict base64 output.
//!
//! Providers and their official clients disagree on the base64 variant (Ktpay's documented
//! snippet defaults to URL-safe without padding while its clients send standard padded text),
//! so input is accepted in any of the four forms and output is always standard padded base64.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// The text was not base64 in any of the four forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not base64 (standard or URL-safe, with or without padding)")]
pub struct Base64Error;

/// Decodes base64 in any of the four forms: standard or URL-safe alphabet, with or without
/// padding. Surrounding whitespace is ignored.
///
/// ```
/// use payments_core::encoding::decode_base64_any;
/// for form in ["+/8=", "+/8", "-_8=", "-_8", " +/8=\n"] {
///     assert_eq!(decode_base64_any(form).unwrap(), vec![0xfb, 0xff]);
/// }
/// assert!(decode_base64_any("not base64!").is_err());
/// ```
pub fn decode_base64_any(text: &str) -> Result<Vec<u8>, Base64Error> {
    let text = text.trim();
    let url_safe = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    let engine = match (url_safe, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(text).map_err(|_| Base64Error)
}

/// Encodes in standard padded base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
