//! Callback tags: the proof that a callback came from Ktpay.
//!
//! Ktpay signs nothing, and everything in a callback body (order id, amount, transaction hash)
//! is known to the paying customer: the hash is in the widget URL their own browser opens. What
//! the customer never sees is the sealed order, and `callback_post_url` travels inside it. So the
//! client puts a tag in that URL: an HMAC-SHA256, under a merchant secret
//! ([`CallbackSecret`]), of the order id and the amount. Ktpay POSTs the callback to the URL as
//! given, tag included; the receiver recomputes the tag and compares it in constant time.
//!
//! **What the tag proves, and what it does not.** The URL is fixed when the payment is created,
//! before any status exists, so the tag cannot bind the status: it proves "the sender knows this
//! order's callback URL", which only Ktpay (and whoever can read the merchant's own logs of that
//! URL) does. Anyone holding the tagged URL could post any status for that order, so keep the
//! callback route's URLs out of access logs. A stored final status is never replaced
//! ([`crate::Transition`]), so once an order is final its tag is worthless.
//!
//! **What it assumes of Ktpay:** that Ktpay keeps `callback_post_url` as given, query string
//! included, and never shows it to the customer. Where the tag goes is configurable
//! ([`TagPlacement`]): a query parameter (the default, `ktwidget_tag`), or the URL's last path
//! segment, should Ktpay drop query strings.

use std::fmt;

use payments_core::{Amount, PlainHttp, Secret};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::keys::KeyError;
use crate::model::{
    encode_path_segment, form_encode, form_pairs, OrderId, ValidationError, WebUrl,
};

/// The default query parameter that carries the tag.
pub const DEFAULT_TAG_PARAMETER: &str = "ktwidget_tag";

/// The domain of the MAC: a tag for anything else never verifies as a callback tag.
const TAG_DOMAIN: &[u8] = b"ktwidget callback tag v1\0";

/// The length of a tag in bytes (HMAC-SHA256); it travels as 64 hex digits.
pub const TAG_LEN: usize = 32;

/// The merchant's callback secret: the HMAC key of the tags. At least 32 bytes; keep it in your
/// secret store, the same for every instance that creates payments or receives callbacks, for
/// as long as callbacks of its orders may arrive (Ktpay's last retry comes about 1 h 45 min
/// after the first attempt).
///
/// ```
/// use ktwidget::CallbackSecret;
/// use payments_core::Secret;
///
/// let fresh = CallbackSecret::generate(); // 43 characters of URL-safe base64: store them
/// let stored = fresh.expose().expose_str().unwrap().to_owned();
/// let again = CallbackSecret::new(Secret::from(stored))?;
/// assert_eq!(format!("{again:?}"), "CallbackSecret([REDACTED])");
/// assert!(CallbackSecret::new(Secret::from("too short")).is_err());
/// # Ok::<(), ktwidget::KeyError>(())
/// ```
#[derive(Clone)]
pub struct CallbackSecret(Secret);

impl CallbackSecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Wraps a stored secret (any bytes, e.g. the text [`CallbackSecret::generate`] made).
    pub fn new(secret: Secret) -> Result<Self, KeyError> {
        if secret.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                what: "callback secret",
                min: Self::MIN_LEN,
                len: secret.len(),
            });
        }
        Ok(CallbackSecret(secret))
    }

    /// A fresh secret: 32 random bytes from the OS, as 43 characters of URL-safe base64
    /// (the text itself is the secret, so it can be stored and given back as it is).
    pub fn generate() -> Self {
        use base64::Engine as _;
        use crypto_box::aead::rand_core::RngCore as _;
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        crypto_box::aead::OsRng.fill_bytes(bytes.as_mut_slice());
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice());
        CallbackSecret(Secret::from(text))
    }

    /// The secret, to store it.
    pub fn expose(&self) -> &Secret {
        &self.0
    }
}

impl fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallbackSecret({})", payments_core::secret::REDACTED)
    }
}

/// Where the tag travels in `callback_post_url`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TagPlacement {
    /// A query parameter of this name (default [`DEFAULT_TAG_PARAMETER`]). Any parameter of the
    /// same name already in the URL is replaced.
    Query(String),
    /// One more path segment at the end of the URL's path
    /// (`https://shop.example/ktpay/callback/<tag>`): route the callback with a path parameter.
    LastPathSegment,
}

impl Default for TagPlacement {
    fn default() -> Self {
        TagPlacement::Query(DEFAULT_TAG_PARAMETER.to_owned())
    }
}

/// Why a request's tag did not verify. For logs; never the tag itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagProblem {
    /// No tag where one was expected.
    Missing,
    /// The query parameter appears more than once.
    Repeated,
    /// Not 64 hex digits.
    NotATag,
    /// A well-formed tag that is not this order's.
    Wrong,
}

impl TagProblem {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TagProblem::Missing => "no callback tag",
            TagProblem::Repeated => "more than one callback tag",
            TagProblem::NotATag => "a callback tag that is not 64 hex digits",
            TagProblem::Wrong => "a callback tag that is not this order's",
        }
    }
}

/// The proof that a request carried the right tag for an order id and amount. Only
/// [`CallbackTagger::verify`] makes one.
#[derive(Debug)]
pub(crate) struct TagChecked {
    order_id: OrderId,
    amount: Amount,
}

impl TagChecked {
    /// Whether the proof is for this order id and amount.
    pub(crate) fn covers(&self, order_id: &OrderId, amount: Amount) -> bool {
        self.order_id == *order_id && self.amount == amount
    }
}

/// Tags callback URLs and checks the tags: a [`CallbackSecret`] and a [`TagPlacement`]. Give
/// the same tagger to the client ([`crate::ClientBuilder::tag_callbacks`]) and to the receiver
/// ([`crate::CallbackReceiver::tagged`]).
///
/// ```
/// use ktwidget::{CallbackSecret, CallbackTagger, OrderId, WebUrl};
///
/// let tagger = CallbackTagger::new(CallbackSecret::generate());
/// let url: WebUrl = "https://shop.example/ktpay/callback".parse()?;
/// let order = OrderId::new("order-42")?;
/// let tagged = tagger.tagged_url(&url, &order, "1000.50".parse()?);
/// assert!(tagged.as_str().starts_with("https://shop.example/ktpay/callback?ktwidget_tag="));
///
/// let in_path = tagger.clone().in_last_path_segment();
/// let tagged = in_path.tagged_url(&url, &order, "1000.50".parse()?);
/// assert_eq!(tagged.path().split('/').count(), 4); // "", "ktpay", "callback", the tag
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CallbackTagger {
    secret: CallbackSecret,
    placement: TagPlacement,
}

impl CallbackTagger {
    /// A tagger that puts the tag in the query parameter [`DEFAULT_TAG_PARAMETER`].
    pub fn new(secret: CallbackSecret) -> Self {
        CallbackTagger {
            secret,
            placement: TagPlacement::default(),
        }
    }

    /// Puts the tag in the query parameter `name` (letters, digits, `-`, `_`, `.`).
    pub fn in_query(mut self, name: &str) -> Result<Self, ValidationError> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err(ValidationError::single(
                "callback tag parameter",
                "must be letters, digits, '-', '_' or '.'",
            ));
        }
        self.placement = TagPlacement::Query(name.to_owned());
        Ok(self)
    }

    /// Puts the tag in one more path segment at the end of the URL's path, for a Ktpay that
    /// would drop query strings.
    pub fn in_last_path_segment(mut self) -> Self {
        self.placement = TagPlacement::LastPathSegment;
        self
    }

    /// Where the tag goes.
    pub fn placement(&self) -> &TagPlacement {
        &self.placement
    }

    fn mac(&self, order_id: &OrderId, amount: Amount) -> HmacSha256 {
        let mut mac = HmacSha256::new(self.secret.0.expose());
        let id = order_id.as_str().as_bytes();
        mac.update(TAG_DOMAIN);
        mac.update(&(id.len() as u64).to_be_bytes());
        mac.update(id);
        mac.update(&amount.minor().to_be_bytes());
        mac
    }

    /// The tag of an order id and amount, as 64 lowercase hex digits.
    pub fn tag(&self, order_id: &OrderId, amount: Amount) -> String {
        let bytes = self.mac(order_id, amount).finalize();
        let mut out = String::with_capacity(2 * TAG_LEN);
        for b in bytes {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }

    /// `url` with the tag of `order_id` and `amount` in its place.
    pub fn tagged_url(&self, url: &WebUrl, order_id: &OrderId, amount: Amount) -> WebUrl {
        let tag = self.tag(order_id, amount);
        match &self.placement {
            TagPlacement::Query(name) => {
                let mut query: Vec<String> = url
                    .query_pairs()
                    .filter(|(k, _)| k != name.as_str())
                    .map(|(k, v)| format!("{}={}", form_encode(&k), form_encode(&v)))
                    .collect();
                query.push(format!("{}={}", form_encode(name), tag));
                url.with_path_and_query(url.path(), Some(&query.join("&")))
            }
            TagPlacement::LastPathSegment => {
                let path = url.path();
                let path = path.strip_suffix('/').unwrap_or(path);
                let path = format!("{path}/{}", encode_path_segment(&tag));
                url.with_path_and_query(&path, url.query())
            }
        }
    }

    /// Checks the tag a request arrived with against `order_id` and `amount`, in constant time.
    pub(crate) fn verify(
        &self,
        uri: &http::Uri,
        order_id: &OrderId,
        amount: Amount,
    ) -> Result<TagChecked, TagProblem> {
        let text = match &self.placement {
            TagPlacement::Query(name) => {
                let query = uri.query().unwrap_or("");
                let mut found = form_pairs(query)
                    .into_iter()
                    .filter(|(k, _)| k == name.as_str())
                    .map(|(_, v)| v);
                let first = found.next().ok_or(TagProblem::Missing)?;
                if found.next().is_some() {
                    return Err(TagProblem::Repeated);
                }
                first
            }
            TagPlacement::LastPathSegment => {
                let path = uri.path();
                let path = path.strip_suffix('/').unwrap_or(path);
                path.rsplit('/')
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or(TagProblem::Missing)?
                    .to_owned()
            }
        };
        let given = decode_hex_tag(&text).ok_or(TagProblem::NotATag)?;
        // Compared in constant time.
        let expected = self.mac(order_id, amount).finalize();
        if !bool::from(expected[..].ct_eq(&given[..])) {
            return Err(TagProblem::Wrong);
        }
        Ok(TagChecked {
            order_id: order_id.clone(),
            amount,
        })
    }

    /// Checks that a tagged callback URL would not travel in clear: `https`, or plain `http`
    /// to loopback when the client opted in.
    pub(crate) fn check_scheme(&self, url: &WebUrl, plain_http: PlainHttp) -> Result<(), String> {
        plain_http
            .check(url.as_uri())
            .map_err(|e| format!("callback_post_url carries the callback tag, a credential: {e}"))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// 64 hex digits (either case) → 32 bytes.
fn decode_hex_tag(text: &str) -> Option<[u8; TAG_LEN]> {
    let b = text.as_bytes();
    if b.len() != 2 * TAG_LEN {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; TAG_LEN];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// HMAC-SHA256 (RFC 2104) over `sha2`: `H((K ^ opad) || H((K ^ ipad) || message))`, with a
/// key longer than a block hashed first. Checked against RFC 4231's test cases below.
struct HmacSha256 {
    inner: Sha256,
    outer_pad: zeroize::Zeroizing<[u8; 64]>,
}

impl HmacSha256 {
    fn new(key: &[u8]) -> Self {
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        if key.len() > block.len() {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner_pad = zeroize::Zeroizing::new([0u8; 64]);
        let mut outer_pad = zeroize::Zeroizing::new([0u8; 64]);
        for ((i, o), k) in inner_pad
            .iter_mut()
            .zip(outer_pad.iter_mut())
            .zip(block.iter())
        {
            *i = k ^ 0x36;
            *o = k ^ 0x5c;
        }
        let mut inner = Sha256::new();
        inner.update(&inner_pad[..]);
        HmacSha256 { inner, outer_pad }
    }

    fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        let inner = self.inner.finalize();
        let mut outer = Sha256::new();
        outer.update(&self.outer_pad[..]);
        outer.update(inner);
        outer.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger() -> CallbackTagger {
        CallbackTagger::new(
            CallbackSecret::new(Secret::from("0123456789abcdef0123456789abcdef")).unwrap(),
        )
    }

    fn id(s: &str) -> OrderId {
        OrderId::new(s).unwrap()
    }

    fn uri(url: &WebUrl) -> http::Uri {
        url.as_uri().clone()
    }

    #[test]
    fn hmac_sha256_passes_rfc_4231() {
        fn hex(bytes: [u8; 32]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        let long_key = [0xaa; 131];
        for (key, data, want) in [
            (&[0x0b; 20][..], &b"Hi There"[..], "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 20], &[0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (&(1..=25).collect::<Vec<u8>>(), &[0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (&long_key, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ] {
            let mut mac = HmacSha256::new(key);
            mac.update(data);
            assert_eq!(hex(mac.finalize()), want, "key of {} bytes", key.len());
        }
        // Fed in pieces, the same answer.
        let mut mac = HmacSha256::new(b"Jefe");
        for piece in [&b"what do ya"[..], b" want ", b"for nothing?"] {
            mac.update(piece);
        }
        assert_eq!(
            hex(mac.finalize()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_known_answer() {
        // HMAC-SHA256(key, "ktwidget callback tag v1\0" || u64be(7) || "order-1" || u64be(100050)),
        // computed independently with Python's hmac module.
        assert_eq!(
            tagger().tag(&id("order-1"), Amount::from_minor(100_050)),
            "3b98dc58eda1756042302d7ce06c52d87ac27fd5ea31c76036eeb02079408ed2"
        );
    }

    #[test]
    fn the_tag_binds_the_order_id_and_the_amount() {
        let t = tagger();
        let url = WebUrl::parse("url", "https://shop.example/cb?x=1").unwrap();
        let a = Amount::from_minor(100_050);
        let tagged = t.tagged_url(&url, &id("order-1"), a);
        assert!(t.verify(&uri(&tagged), &id("order-1"), a).is_ok());
        assert_eq!(
            t.verify(&uri(&tagged), &id("order-2"), a).unwrap_err(),
            TagProblem::Wrong
        );
        assert_eq!(
            t.verify(&uri(&tagged), &id("order-1"), Amount::from_minor(100_051))
                .unwrap_err(),
            TagProblem::Wrong
        );
        // Another secret's tag is wrong.
        let other = CallbackTagger::new(CallbackSecret::generate());
        assert_eq!(
            other.verify(&uri(&tagged), &id("order-1"), a).unwrap_err(),
            TagProblem::Wrong
        );
        // The other query parameters are kept.
        assert!(tagged.query().unwrap().starts_with("x=1&ktwidget_tag="));
    }

    #[test]
    fn missing_repeated_and_malformed_tags_are_refused() {
        let t = tagger();
        let a = Amount::from_minor(1);
        let o = id("o");
        let base = WebUrl::parse("url", "https://shop.example/cb").unwrap();
        assert_eq!(
            t.verify(&uri(&base), &o, a).unwrap_err(),
            TagProblem::Missing
        );
        let good = t.tag(&o, a);
        for (query, problem) in [
            (
                format!("ktwidget_tag={good}&ktwidget_tag={good}"),
                TagProblem::Repeated,
            ),
            ("ktwidget_tag=".to_owned(), TagProblem::NotATag),
            (format!("ktwidget_tag={}", &good[..63]), TagProblem::NotATag),
            (format!("ktwidget_tag={good}0"), TagProblem::NotATag),
            (
                format!("ktwidget_tag={}", "0".repeat(64)),
                TagProblem::Wrong,
            ),
            (format!("other={good}"), TagProblem::Missing),
        ] {
            let u: http::Uri = format!("https://shop.example/cb?{query}").parse().unwrap();
            assert_eq!(t.verify(&u, &o, a).unwrap_err(), problem, "{query}");
        }
        // Upper-case hex is the same tag.
        let u: http::Uri = format!("/cb?ktwidget_tag={}", good.to_uppercase())
            .parse()
            .unwrap();
        assert!(t.verify(&u, &o, a).is_ok());
        // An existing parameter of the same name is replaced, not repeated.
        let pre = WebUrl::parse("url", "https://shop.example/cb?ktwidget_tag=forged").unwrap();
        let tagged = t.tagged_url(&pre, &o, a);
        assert_eq!(tagged.query_pairs().count(), 1);
        assert!(t.verify(&uri(&tagged), &o, a).is_ok());
    }

    #[test]
    fn the_tag_may_travel_in_the_path_or_a_named_parameter() {
        let t = tagger().in_last_path_segment();
        let a = Amount::from_minor(500);
        let o = id("o-1");
        let tagged = t.tagged_url(
            &WebUrl::parse("url", "https://s.example/cb/?q=1").unwrap(),
            &o,
            a,
        );
        assert_eq!(
            tagged.as_str(),
            format!("https://s.example/cb/{}?q=1", t.tag(&o, a))
        );
        assert!(t.verify(&uri(&tagged), &o, a).is_ok());
        let with_slash: http::Uri = format!("{}/", tagged.path()).parse().unwrap();
        assert!(t.verify(&with_slash, &o, a).is_ok());
        let bare: http::Uri = "/cb/".parse().unwrap();
        assert_eq!(t.verify(&bare, &o, a).unwrap_err(), TagProblem::NotATag);
        // A query tag is not looked for when the tag is in the path.
        let in_query = tagger().tagged_url(
            &WebUrl::parse("url", "https://s.example/cb").unwrap(),
            &o,
            a,
        );
        assert_eq!(
            t.verify(&uri(&in_query), &o, a).unwrap_err(),
            TagProblem::NotATag
        );

        let named = tagger().in_query("sig").unwrap();
        let tagged = named.tagged_url(
            &WebUrl::parse("url", "https://s.example/cb").unwrap(),
            &o,
            a,
        );
        assert!(tagged.as_str().contains("?sig="));
        assert!(named.verify(&uri(&tagged), &o, a).is_ok());
        assert!(tagger().in_query("").is_err());
        assert!(tagger().in_query("a b").is_err());
    }

    #[test]
    fn secrets_are_long_and_never_shown() {
        assert!(matches!(
            CallbackSecret::new(Secret::from("x".repeat(31))),
            Err(KeyError::TooShort {
                min: 32,
                len: 31,
                ..
            })
        ));
        let s = CallbackSecret::generate();
        assert_eq!(s.expose().len(), 43);
        assert_ne!(s.expose(), CallbackSecret::generate().expose());
        let t = CallbackTagger::new(s.clone());
        let shown = format!("{t:?} {s:?}");
        assert!(!shown.contains(s.expose().expose_str().unwrap()), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn tagged_urls_must_not_travel_in_clear() {
        let t = tagger();
        let remote = WebUrl::parse("url", "http://shop.example/cb").unwrap();
        let local = WebUrl::parse("url", "http://127.0.0.1:8080/cb").unwrap();
        let https = WebUrl::parse("url", "https://shop.example/cb").unwrap();
        assert!(t.check_scheme(&remote, PlainHttp::Refused).is_err());
        assert!(t.check_scheme(&remote, PlainHttp::LoopbackOnly).is_err());
        assert!(t.check_scheme(&local, PlainHttp::Refused).is_err());
        assert!(t.check_scheme(&local, PlainHttp::LoopbackOnly).is_ok());
        assert!(t.check_scheme(&https, PlainHttp::Refused).is_ok());
    }
}
