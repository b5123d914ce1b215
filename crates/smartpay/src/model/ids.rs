//! Kassa-local ids (`kassa_purchase_id`, `kassa_refund_id`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A kassa-local id: unique per kassa, at most 64 printable ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KassaId(String);

impl KassaId {
    /// Validates an id chosen by the caller.
    pub fn new(id: impl Into<String>) -> Result<Self, payments_core::Invalid> {
        let id = id.into();
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(payments_core::Invalid::new(
                "kassa_id",
                "must be 1 to 64 printable ASCII characters",
            ));
        }
        Ok(KassaId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KassaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Makes kassa-local ids after the guide's idea (the unix time the fiscal document was
/// created), made unique and strictly increasing: the current unix time in **milliseconds**, or
/// the previous id plus one when the clock has not moved on (or went back).
///
/// Use one generator per kassa, for the life of the process. Ids from a process restarted within
/// the same millisecond as the last id of the previous one could repeat; persist
/// [`KassaIdGenerator::last`] and pass it to [`KassaIdGenerator::starting_after`] if that matters.
///
/// ```
/// let ids = smartpay::KassaIdGenerator::new();
/// let a = ids.next_id();
/// let b = ids.next_id();
/// assert!(b.as_str().parse::<u64>()? > a.as_str().parse::<u64>()?);
/// # Ok::<(), std::num::ParseIntError>(())
/// ```
#[derive(Debug, Default)]
pub struct KassaIdGenerator {
    last: AtomicU64,
}

impl KassaIdGenerator {
    /// A generator.
    pub fn new() -> Self {
        KassaIdGenerator::default()
    }

    /// A generator whose ids are all greater than `last`.
    pub fn starting_after(last: u64) -> Self {
        KassaIdGenerator {
            last: AtomicU64::new(last),
        }
    }

    /// The last id handed out (0 before the first).
    pub fn last(&self) -> u64 {
        self.last.load(Ordering::SeqCst)
    }

    /// The next id.
    pub fn next_id(&self) -> KassaId {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut prev = self.last.load(Ordering::SeqCst);
        loop {
            let next = now.max(prev.saturating_add(1));
            match self
                .last
                .compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return KassaId(next.to_string()),
                Err(actual) => prev = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    #[test]
    fn unique_and_increasing_across_threads() {
        let g = Arc::new(KassaIdGenerator::starting_after(u64::MAX / 2));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || {
                    let ids: Vec<u64> = (0..500)
                        .map(|_| g.next_id().as_str().parse().unwrap())
                        .collect();
                    assert!(ids.windows(2).all(|w| w[0] < w[1]));
                    ids
                })
            })
            .collect();
        let all: BTreeSet<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(all.len(), 2000);
        assert!(all.iter().all(|&id| id > u64::MAX / 2));
    }

    #[test]
    fn validates_caller_ids() {
        assert!(KassaId::new("1700000000").is_ok());
        assert!(KassaId::new("").is_err());
        assert!(KassaId::new("a b").is_err());
        assert!(KassaId::new("x".repeat(65)).is_err());
    }
}
