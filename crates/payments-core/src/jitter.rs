//! The random source of retry and poll jitter: WyRand, as `fastrand` has it (same constants and
//! the same unbiased range reduction, so a seed gives the same draws). Not for secrets: it only
//! spreads waits apart.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

/// A small non-cryptographic generator of jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from the process's hash keys (random per process), a counter and the
    /// clock: two generators made in a row differ.
    pub(crate) fn new() -> Rng {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let here = Instant::now();
        std::hash::Hash::hash(&here, &mut h);
        Rng(h.finish())
    }

    /// A generator that always gives the same draws for `seed`.
    pub(crate) const fn with_seed(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        const WY_CONST_0: u64 = 0x2d35_8dcc_aa6c_78a5;
        const WY_CONST_1: u64 = 0x8bb8_4b93_962e_acc9;
        let s = self.0.wrapping_add(WY_CONST_0);
        self.0 = s;
        let t = u128::from(s) * u128::from(s ^ WY_CONST_1);
        (t as u64) ^ (t >> 64) as u64
    }

    /// A uniform draw in `0..=most`.
    pub(crate) fn up_to(&mut self, most: u64) -> u64 {
        let Some(n) = most.checked_add(1) else {
            return self.next();
        };
        // Lemire's multiply-and-reject: no modulo bias.
        let high = |r: u64| ((u128::from(r) * u128::from(n)) >> 64) as u64;
        let mut r = self.next();
        let mut lo = r.wrapping_mul(n);
        if lo < n {
            let t = n.wrapping_neg() % n;
            while lo < t {
                r = self.next();
                lo = r.wrapping_mul(n);
            }
        }
        high(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut rng = Rng::with_seed(1);
        let mut seen = [false; 5];
        for _ in 0..1_000 {
            let d = rng.up_to(4);
            assert!(d <= 4, "{d}");
            seen[d as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
        assert_eq!(rng.up_to(0), 0);
        let _ = rng.up_to(u64::MAX); // the whole range: no overflow
    }

    #[test]
    fn a_seed_repeats_and_new_generators_differ() {
        let a: Vec<_> = (0..4)
            .scan(Rng::with_seed(7), |r, _| Some(r.up_to(1_000_000)))
            .collect();
        let b: Vec<_> = (0..4)
            .scan(Rng::with_seed(7), |r, _| Some(r.up_to(1_000_000)))
            .collect();
        assert_eq!(a, b);
        assert_ne!(Rng::new(), Rng::new());
    }
}
