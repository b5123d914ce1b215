//! The emulator's own wire bodies that more than one module sends: the transaction JSON of a
//! callback and of the provisional status answer.

use serde::Serialize;
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;

use super::{Payment, Shared};

/// The callback body (also the provisional status answer's data).
pub(crate) fn transaction_json(shared: &Shared, p: &Payment) -> String {
    #[derive(Serialize)]
    struct Tx<'a> {
        merchant_id: u64,
        order_id: &'a str,
        description: Option<&'a str>,
        amount: &'a RawValue,
        transaction_hash: &'a str,
        created_at: String,
        updated_at: Option<String>,
        status: St<'a>,
    }
    #[derive(Serialize)]
    struct St<'a> {
        status: &'a str,
        created_at: String,
        updated_at: Option<String>,
        error: Option<Er<'a>>,
    }
    #[derive(Serialize)]
    struct Er<'a> {
        error_type: &'a str,
        error_message: &'a str,
    }
    let fmt = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let amount = RawValue::from_string(p.amount.to_compact_string());
    let Ok(amount) = amount else {
        return String::new();
    };
    let updated = (p.status_created_at != p.created_at).then(|| fmt(&p.status_created_at));
    let tx = Tx {
        merchant_id: shared.config.merchant_id,
        order_id: &p.order_id,
        description: p.description.as_deref(),
        amount: &amount,
        transaction_hash: &p.transaction_hash,
        created_at: fmt(&p.created_at),
        updated_at: updated,
        status: St {
            status: &p.status,
            created_at: fmt(&p.status_created_at),
            updated_at: None,
            error: p.error.as_ref().map(|(t, m)| Er {
                error_type: t,
                error_message: m,
            }),
        },
    };
    serde_json::to_string(&tx).unwrap_or_default()
}
