//! Sample bodies, credentials and the canned provider answers.

/// The Ktpay `app_id` of the loopback runs.
pub const KTPAY_APP_ID: &str = "e2d3d70d53c67bcd377266f74e98587c";
/// Ktpay's documented example `app_key` (a public X25519 key).
pub const KTPAY_APP_KEY: &str = "h09acJ8QSLPw40XZxdNfLbq4hXzWInC5zXL319RdXUI=";
/// The Ktpay create path.
pub const KTPAY_CREATE_PATH: &str = "/api/v1/merchant-widget/payment";
/// The transaction hash of the canned answer.
pub const KTPAY_HASH: &str = "af7ed500aa9f2132fae4b63e936af641bcc4ebaf";
/// Ktpay's answer to create (the API reference's envelope).
pub const KTPAY_CREATED: &[u8] = br#"{"success":true,"payload":{"transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","show_close_button":true}}"#;

/// The Kupi-Kupi platform uid (the provider's demo uid).
pub const KUPI_PLATFORM_UID: &str = "M2hULcD58iYGkmS7";
/// The Kupi-Kupi secret key (the provider's demo key).
pub const KUPI_SECRET: &str = "yIKirCvplm8N1D9g";
/// The Kupi-Kupi API base path.
pub const KUPI_BASE_PATH: &str = "/api/v1/transfer";
/// Kupi-Kupi's answer to `init`.
pub const KUPI_INIT_ANSWER: &[u8] = br#"{"status":true,"errorCode":"0","message":"","paymentId":43,"orderId":"order-1","amount":25000,"transferURL":"https://payapi.kupi-kupi.shop/transfer/43"}"#;

/// Smart Pay's answer to `/v1/auth` (the cookie comes in `Set-Cookie`).
pub const SMARTPAY_AUTH_ANSWER: &[u8] = br#"{"kassa_id":"kassa-0001","expires_in":3600}"#;
/// The cookie the loopback server sets.
pub const SMARTPAY_SET_COOKIE: &str =
    "kassa_session=0123456789abcdef0123456789abcdef; Path=/; HttpOnly";
/// Smart Pay's answer to `/v1/purchase/status`.
pub const SMARTPAY_STATUS_ANSWER: &[u8] = br#"{"purchase_id":"p-000001","kassa_purchase_id":"1700000000000","status":"success","amount":125050}"#;
/// The purchase id asked for.
pub const SMARTPAY_PURCHASE_ID: &str = "p-000001";

/// A Ktpay callback (the documented shape).
pub const KTPAY_CALLBACK: &[u8] = br#"{"merchant_id":1,"order_id":"order-1","description":"Description of transactions","amount":"1000.50","transaction_hash":"af7ed500aa9f2132fae4b63e936af641bcc4ebaf","created_at":"2019-02-05T14:22:53+06:00","updated_at":null,"status":{"status":"completed","created_at":"2019-02-05T14:23:09+06:00","updated_at":"2019-02-05T14:23:10+06:00","error":null}}"#;

/// A Kupi-Kupi notification (the documented fields).
pub const KUPI_NOTIFICATION: &[u8] = br#"{"status":true,"transferStatus":"CONFIRMED","errorCode":"0","message":"","uidPlatform":"M2hULcD58iYGkmS7","orderId":"order-42"}"#;

/// A Smart Pay customer QR payload.
pub const SMARTPAY_QR: &str = r#"{"id_loyalty":"7000123","encrypted":"b3RwLjE3MDAwMDAwMDAuNzAwMDEyMyBlbmNyeXB0ZWQgd2l0aCB0aGUgcGF5bWVudCBzZXJ2aWNlJ3MgcHVibGljIGtleQ==","sign":"c2lnbmF0dXJlIG9mIHRoZSBvbmUtdGltZSBwYXNzd29yZA=="}"#;

/// A Ktpay order whose sealed JSON is about 1 KB: the description fills the rest.
pub fn ktpay_order_1kb() -> ktwidget::Order {
    let description = "Order of 3 items: ".to_owned() + &"x".repeat(640);
    ktwidget::Order::builder(
        "order-000000000001",
        payments_core::Amount::from_minor(100_050),
    )
    .description(description)
    .callback_post_url("https://shop.example/ktpay/callback")
    .callback_success_url("https://shop.example/ktpay/success")
    .callback_failed_url("https://shop.example/ktpay/failed")
    .callback_back_url("https://shop.example/cart")
    .user(
        ktwidget::User::with_id("customer-0001")
            .phone("77001234567")
            .email("customer@example.com"),
    )
    .build()
    .expect("a valid sample order")
}
