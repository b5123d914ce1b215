//! # kupikupi
//!
//! A client for the Kupi-Kupi cashback service's points transfer API: the request token,
//! typed calls (`balance`, `init`, `checkout`, `confirmation`, `receipt`) and errors.
//!
//! ```
//! use kupikupi::{token::token, OrderId, Phone, TransferAmount};
//! use payments_core::Secret;
//!
//! // The provider's own test vector.
//! let params = serde_json::json!({
//!     "platformUid": "M2hULcD58iYGkmS7", "phone": 79000000000u64, "orderId": 1234, "amount": 25000,
//! });
//! let t = token(params.as_object().unwrap(), &Secret::from("yIKirCvplm8N1D9g"))?;
//! assert_eq!(t.as_str(), "5bc81ae28f1d9c16807c4b0ecb53cb69d4d286b2570eb89fbcb4f9c7b2d226ea");
//!
//! // Values are checked when they are built.
//! assert!(Phone::new("79000000001").is_ok());
//! assert!(OrderId::new("").is_err());
//! assert!(TransferAmount::from_minor(0).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod error;
pub mod notification;
#[cfg(feature = "service")]
pub mod service;
pub mod token;
mod transformers;
mod types;

pub use client::{
    operations, Checkout, Client, ClientBuilder, Confirmation, Environment, ReceiptAccepted,
    TokenSigner, Transfer, PRODUCTION_BASE_URL, TEST_BASE_URL,
};
pub use error::{Error, ProviderError, ValidationError};
pub use notification::{Notification, NotificationError, NotificationVerifier};
pub use types::{
    ConfirmationCode, Discount, FiscalDocumentNumber, FiscalDriveNumber, FiscalSign, OrderId,
    PayDate, PaymentId, Phone, Receipt, ReceiptType, TransferAmount, TransferStatus,
    MAX_AMOUNT_MINOR,
};
