//! The public domain types: the generated models of the spec (`src/generated/models.rs`, do not
//! edit: `cargo xtask codegen`), the kassa ids, the checked QR code, and what a status means.

#[path = "../generated/models.rs"]
mod generated;
mod ids;
mod qr;
mod status;

pub use generated::*;
pub use ids::{KassaId, KassaIdGenerator};
pub use qr::{QrCode, MAX_QR_LEN};
pub use status::{PurchaseOutcome, RefundOutcome};
