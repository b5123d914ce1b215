//! Polling: asking a provider the same read again and again, with growing waits, until its
//! answer is final or a deadline passes.
//!
//! A [`PollPolicy`] is the schedule: a first delay before the first question, then a wait
//! after each question that starts at an interval and grows by a factor up to a cap, each wait
//! shortened at random by the policy's [`Jitter`], and a deadline counted from the start.
//! [`PollPolicy::schedule`] yields the waits (exactly, with [`PollPolicy::with_jitter_seed`]),
//! and [`poll_until`] runs a question on that schedule and says how it ended: a final answer,
//! or the deadline with the last answer that was not final ([`PollOutcome`]).
//!
//! Like [`crate::RetryPolicy`], it never panics on a duration too large to add: the arithmetic
//! is checked, a wait is capped, and a deadline too far to add to now is no deadline.
//!
//! ```
//! use std::time::Duration;
//! use payments_core::{poll_until, Jitter, PollOutcome, PollPolicy, PollStep};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 10 ms, 15 ms, 22.5 ms... at most 40 ms apart, each wait shortened by up to half, for 1 s.
//! let policy = PollPolicy::builder()
//!     .interval(Duration::from_millis(10))
//!     .growth_percent(150)
//!     .max_interval(Duration::from_millis(40))
//!     .jitter(Jitter::Bounded { percent: 50 })
//!     .deadline(Duration::from_secs(1))
//!     .build()?;
//! assert_eq!(policy.nominal_wait(3), Duration::from_micros(22_500));
//! assert_eq!(policy.nominal_wait(9), Duration::from_millis(40));
//!
//! // A status that becomes final at the third question.
//! let mut asked = 0;
//! let outcome = poll_until(&policy, || {
//!     asked += 1;
//!     let status = if asked < 3 { "pending" } else { "done" };
//!     async move {
//!         match status {
//!             "done" => PollStep::Final(status),
//!             other => PollStep::Pending(other),
//!         }
//!     }
//! })
//! .await;
//! assert_eq!(outcome, PollOutcome::Final("done"));
//! assert_eq!(asked, 3);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How each wait of a [`PollPolicy`] is shortened at random, so that pollers started together
/// do not all ask at the same moment.
///
/// The random part is drawn in whole milliseconds (the resolution of tokio's timer), so that a
/// seeded schedule is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// Every wait is exactly the schedule's.
    None,
    /// Each wait is shortened by a random part of up to `percent` % of it: with 50, a wait of
    /// 1 s lasts between 500 ms and 1 s. At most 100.
    Bounded {
        /// The largest part of a wait cut off, in percent (0 to 100).
        percent: u8,
    },
    /// Full jitter: each wait is random between none and the whole wait (as
    /// `Bounded { percent: 100 }`).
    Full,
}

impl Jitter {
    /// The largest part cut off, in percent.
    const fn percent(self) -> u8 {
        match self {
            Jitter::None => 0,
            Jitter::Bounded { percent } => percent,
            Jitter::Full => 100,
        }
    }

    /// `wait` shortened by a random part of up to the jitter's percent, in whole milliseconds.
    fn shorten(self, wait: Duration, rng: &mut crate::jitter::Rng) -> Duration {
        let percent = self.percent();
        if percent == 0 {
            return wait;
        }
        let ms = wait.as_millis();
        // At most `ms`, which a `Duration` holds: the conversion cannot fail for a valid
        // percent; a saturated value is still no longer than the wait.
        let most = u64::try_from(ms.saturating_mul(u128::from(percent)) / 100).unwrap_or(u64::MAX);
        let cut = rng.up_to(most);
        wait.saturating_sub(Duration::from_millis(cut))
    }
}

/// Why a [`PollPolicyBuilder`] refused to build a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PollPolicyError {
    /// The interval is zero: the poller would ask in a busy loop.
    #[error("a poll interval must be longer than zero (a zero interval asks in a busy loop)")]
    ZeroInterval,
    /// The longest wait is shorter than the first one.
    #[error("the longest poll interval ({max:?}) is shorter than the first one ({interval:?})")]
    MaxBelowInterval {
        /// The first wait.
        interval: Duration,
        /// The longest wait.
        max: Duration,
    },
    /// The growth is below 100 %: the waits would shrink.
    #[error("a poll growth of {0} % would shorten the waits; it must be at least 100 %")]
    Shrinking(u32),
    /// The jitter would cut off more than the whole wait.
    #[error("a jitter of {0} % would cut off more than the whole wait; it must be at most 100 %")]
    JitterOver100(u8),
}

/// When to ask again: a first delay, then waits that start at an interval and grow by a factor
/// up to a cap, each shortened by a [`Jitter`], until a deadline counted from the start.
///
/// Built with [`PollPolicy::builder`], which validates in [`PollPolicyBuilder::build`];
/// [`PollPolicy::to_builder`] changes a built one. `PollPolicy::default()` is the builder's
/// default: ask at once, then after 1 s, 2 s, 4 s... at most 30 s apart, without jitter and
/// without a deadline.
///
/// The questions, counted from the start of [`poll_until`]:
///
/// 1. the first after [`PollPolicy::first_delay`] (or at the deadline, if that comes first);
/// 2. after a question whose answer is not final: if the deadline has passed, stop; otherwise
///    wait [`PollPolicy::nominal_wait`]`(n)` shortened by the jitter, and no longer than
///    the time left before the deadline, then ask again. So the last question is asked at the
///    deadline.
///
/// A provider crate keeps its defaults as a constant (the builder and `build` are `const`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PollPolicy {
    first_delay: Duration,
    interval: Duration,
    growth_percent: u32,
    max_interval: Duration,
    jitter: Jitter,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
}

impl Default for PollPolicy {
    /// Ask at once, then after 1 s doubling up to 30 s, no jitter, no deadline.
    fn default() -> Self {
        PollPolicyBuilder::DEFAULT.policy
    }
}

impl PollPolicy {
    /// A builder, starting from [`PollPolicy::default`].
    pub const fn builder() -> PollPolicyBuilder {
        PollPolicyBuilder::DEFAULT
    }

    /// A builder holding this policy, to change it.
    pub const fn to_builder(self) -> PollPolicyBuilder {
        PollPolicyBuilder { policy: self }
    }

    /// How long after the start the first question is asked.
    pub const fn first_delay(&self) -> Duration {
        self.first_delay
    }

    /// The wait after the first question, before jitter.
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// The factor each wait grows by, in percent: 150 is ×1.5, 200 doubles, 100 keeps the
    /// interval.
    pub const fn growth_percent(&self) -> u32 {
        self.growth_percent
    }

    /// The longest wait, before jitter.
    pub const fn max_interval(&self) -> Duration {
        self.max_interval
    }

    /// How each wait is shortened at random.
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// How long after the start the poller stops asking, if ever.
    pub const fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The jitter's seed, if the policy has one.
    pub const fn jitter_seed(&self) -> Option<u64> {
        self.jitter_seed
    }

    /// The same policy with another first delay (any delay is valid).
    pub const fn with_first_delay(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// The same policy with a deadline, counted from the start (any deadline is valid; zero
    /// asks once).
    pub const fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The same policy without a deadline: it polls until the answer is final.
    pub const fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// The same policy with seeded jitter, so that [`PollPolicy::schedule`] gives the same
    /// waits every time: for tests. Every schedule of a seeded policy jitters alike, which
    /// defeats the jitter's purpose in production.
    pub const fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The wait after question `n` (1 for the first), before jitter: the interval grown
    /// `n - 1` times, capped at [`PollPolicy::max_interval`]. `0` counts as `1`.
    pub fn nominal_wait(&self, n: u32) -> Duration {
        let mut wait = self.interval;
        for _ in 1..n {
            let next = self.grow(wait);
            // At the cap, or too short for the growth to add a nanosecond: it stays there.
            if next == wait {
                break;
            }
            wait = next;
        }
        wait
    }

    /// The waits after each question, jittered: the first after the first question. Endless;
    /// [`poll_until`] stops at the deadline. Seeded by [`PollPolicy::with_jitter_seed`], or at
    /// random for each schedule.
    pub fn schedule(&self) -> PollSchedule {
        PollSchedule {
            policy: *self,
            next: self.interval,
            rng: match self.jitter_seed {
                Some(seed) => crate::jitter::Rng::with_seed(seed),
                None => crate::jitter::Rng::new(),
            },
        }
    }

    /// The wait after `wait`: grown by the factor, capped, in checked arithmetic.
    fn grow(&self, wait: Duration) -> Duration {
        let cap = self.max_interval;
        let grown = wait
            .as_nanos()
            .checked_mul(u128::from(self.growth_percent))
            .map(|n| n / 100);
        match grown {
            Some(nanos) if nanos < cap.as_nanos() => {
                // Below the cap, so the seconds fit a `u64`.
                let secs = u64::try_from(nanos / 1_000_000_000);
                let sub = u32::try_from(nanos % 1_000_000_000);
                match (secs, sub) {
                    (Ok(secs), Ok(sub)) => Duration::new(secs, sub),
                    _ => cap,
                }
            }
            _ => cap,
        }
    }
}

/// Builds a [`PollPolicy`]; [`PollPolicyBuilder::build`] checks it. Every method is `const`,
/// so a default policy can be a constant, checked when it is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a builder does nothing until it is built"]
pub struct PollPolicyBuilder {
    policy: PollPolicy,
}

impl Default for PollPolicyBuilder {
    fn default() -> Self {
        PollPolicyBuilder::DEFAULT
    }
}

impl PollPolicyBuilder {
    const DEFAULT: PollPolicyBuilder = PollPolicyBuilder {
        policy: PollPolicy {
            first_delay: Duration::ZERO,
            interval: Duration::from_secs(1),
            growth_percent: 200,
            max_interval: Duration::from_secs(30),
            jitter: Jitter::None,
            deadline: None,
            jitter_seed: None,
        },
    };

    /// How long after the start to ask first. Default: at once.
    pub const fn first_delay(mut self, delay: Duration) -> Self {
        self.policy.first_delay = delay;
        self
    }

    /// The wait after the first question. Default 1 s; it must be longer than zero.
    pub const fn interval(mut self, interval: Duration) -> Self {
        self.policy.interval = interval;
        self
    }

    /// The factor each wait grows by, in percent: 150 is ×1.5, 200 (the default) doubles,
    /// 100 keeps the interval. At least 100.
    pub const fn growth_percent(mut self, percent: u32) -> Self {
        self.policy.growth_percent = percent;
        self
    }

    /// The longest wait, before jitter. Default 30 s; at least the interval.
    pub const fn max_interval(mut self, max: Duration) -> Self {
        self.policy.max_interval = max;
        self
    }

    /// How each wait is shortened at random. Default [`Jitter::None`].
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// Seeds the jitter (see [`PollPolicy::with_jitter_seed`]). Default: unseeded.
    pub const fn jitter_seed(mut self, seed: u64) -> Self {
        self.policy.jitter_seed = Some(seed);
        self
    }

    /// When to stop asking, counted from the start. Default: no deadline.
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.policy.deadline = Some(deadline);
        self
    }

    /// No deadline: poll until the answer is final (the default).
    pub const fn no_deadline(mut self) -> Self {
        self.policy.deadline = None;
        self
    }

    /// The policy, or why it is refused: a zero interval, a longest wait shorter than the
    /// interval, a growth below 100 %, a jitter over 100 %. In a `const`, a refusal is a
    /// compile error.
    pub const fn build(self) -> Result<PollPolicy, PollPolicyError> {
        let p = self.policy;
        if p.interval.is_zero() {
            return Err(PollPolicyError::ZeroInterval);
        }
        if p.max_interval.as_nanos() < p.interval.as_nanos() {
            return Err(PollPolicyError::MaxBelowInterval {
                interval: p.interval,
                max: p.max_interval,
            });
        }
        if p.growth_percent < 100 {
            return Err(PollPolicyError::Shrinking(p.growth_percent));
        }
        if let Jitter::Bounded { percent } = p.jitter {
            if percent > 100 {
                return Err(PollPolicyError::JitterOver100(percent));
            }
        }
        Ok(p)
    }
}

/// The waits of a [`PollPolicy`], jittered, one after each question: an endless iterator.
#[derive(Clone, Debug)]
pub struct PollSchedule {
    policy: PollPolicy,
    next: Duration,
    rng: crate::jitter::Rng,
}

impl Iterator for PollSchedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let nominal = self.next;
        self.next = self.policy.grow(nominal);
        Some(self.policy.jitter.shorten(nominal, &mut self.rng))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// What one question of [`poll_until`] learnt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollStep<T, P> {
    /// A final answer (a final status, or a failure that asking again would not change): stop.
    Final(T),
    /// Not final yet: ask again, unless the deadline has passed. The value is kept as the last
    /// one seen.
    Pending(P),
}

/// How [`poll_until`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "polling ended either with a final answer or at the deadline"]
pub enum PollOutcome<T, P> {
    /// A question gave a final answer.
    Final(T),
    /// The deadline passed while the answer was not final: the last one seen.
    DeadlinePassed(P),
}

/// Asks `ask` on `policy`'s schedule until it gives a [`PollStep::Final`] answer, or the
/// policy's deadline passes after a [`PollStep::Pending`] one.
///
/// The start is the call: the first question comes after the first delay (at the deadline at
/// the latest), and the deadline is counted from the start. Each wait is the next of
/// [`PollPolicy::schedule`], cut to the time left, so the last question is asked at the
/// deadline; a question itself is never cut short. A deadline too far to add to now is no
/// deadline, and no duration makes it panic.
pub async fn poll_until<T, P, F, Fut>(policy: &PollPolicy, mut ask: F) -> PollOutcome<T, P>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = PollStep<T, P>>,
{
    let start = Instant::now();
    let deadline = policy.deadline.and_then(|d| start.checked_add(d));
    let first = match policy.deadline {
        Some(d) => policy.first_delay.min(d),
        None => policy.first_delay,
    };
    // tokio's sleep caps a delay too long to add to now.
    tokio::time::sleep(first).await;
    let mut waits = policy.schedule();
    loop {
        let last = match ask().await {
            PollStep::Final(answer) => return PollOutcome::Final(answer),
            PollStep::Pending(last) => last,
        };
        let wait = waits.next().unwrap_or(policy.max_interval);
        let wait = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return PollOutcome::DeadlinePassed(last);
                }
                wait.min(left)
            }
            None => wait,
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_default_is_the_builders_and_valid() {
        let p = PollPolicy::default();
        assert_eq!(PollPolicy::builder().build(), Ok(p));
        assert_eq!(p.first_delay(), Duration::ZERO);
        assert_eq!(p.interval(), Duration::from_secs(1));
        assert_eq!(p.growth_percent(), 200);
        assert_eq!(p.max_interval(), Duration::from_secs(30));
        assert_eq!(p.jitter(), Jitter::None);
        assert_eq!(p.deadline(), None);
        assert_eq!(p.jitter_seed(), None);
        assert_eq!(p.to_builder().build(), Ok(p));
    }

    #[test]
    fn the_builder_refuses_what_cannot_poll() {
        let b = PollPolicy::builder;
        assert_eq!(
            b().interval(Duration::ZERO).build(),
            Err(PollPolicyError::ZeroInterval)
        );
        assert_eq!(
            b().interval(ms(100)).max_interval(ms(99)).build(),
            Err(PollPolicyError::MaxBelowInterval {
                interval: ms(100),
                max: ms(99)
            })
        );
        assert_eq!(
            b().growth_percent(99).build(),
            Err(PollPolicyError::Shrinking(99))
        );
        assert_eq!(
            b().jitter(Jitter::Bounded { percent: 101 }).build(),
            Err(PollPolicyError::JitterOver100(101))
        );
        // The edges are valid.
        assert!(b().interval(Duration::from_nanos(1)).build().is_ok());
        assert!(b().interval(ms(5)).max_interval(ms(5)).build().is_ok());
        assert!(b().growth_percent(100).build().is_ok());
        assert!(b().jitter(Jitter::Bounded { percent: 100 }).build().is_ok());
        let e = b().interval(Duration::ZERO).build().unwrap_err();
        assert!(e.to_string().contains("busy loop"), "{e}");
    }

    #[test]
    fn growth_by_half_is_exact_and_capped() {
        let p = PollPolicy::builder()
            .interval(ms(100))
            .growth_percent(150)
            .max_interval(ms(1_000))
            .build()
            .unwrap();
        let us = Duration::from_micros;
        let expected = [
            ms(100),
            ms(150),
            ms(225),
            us(337_500),
            us(506_250),
            us(759_375),
            ms(1_000),
            ms(1_000),
        ];
        let nominal: Vec<_> = (1..=8).map(|n| p.nominal_wait(n)).collect();
        assert_eq!(nominal, expected);
        let scheduled: Vec<_> = p.schedule().take(8).collect();
        assert_eq!(
            scheduled, expected,
            "no jitter: the schedule is the nominal waits"
        );
        assert_eq!(p.nominal_wait(0), ms(100));
        assert_eq!(p.nominal_wait(u32::MAX), ms(1_000));
    }

    #[test]
    fn doubling_reaches_the_cap_and_stays() {
        let p = PollPolicy::builder()
            .interval(Duration::from_secs(1))
            .max_interval(Duration::from_secs(30))
            .build()
            .unwrap();
        let secs: Vec<_> = (1..=8).map(|n| p.nominal_wait(n).as_secs_f64()).collect();
        assert_eq!(secs, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        let constant = p.to_builder().growth_percent(100).build().unwrap();
        assert_eq!(constant.nominal_wait(1_000), Duration::from_secs(1));
    }

    #[test]
    fn seeded_jitter_is_exact_and_bounded() {
        let p = PollPolicy::builder()
            .interval(Duration::from_secs(1))
            .max_interval(Duration::from_secs(30))
            .jitter(Jitter::Bounded { percent: 50 })
            .jitter_seed(7)
            .build()
            .unwrap();
        let waits: Vec<_> = p.schedule().take(8).collect();
        // Pinned: a change of the schedule's arithmetic or of the draw changes these.
        assert_eq!(
            waits,
            [
                ms(613),
                ms(1_778),
                ms(2_563),
                ms(6_076),
                ms(15_069),
                ms(27_517),
                ms(18_125),
                ms(28_612)
            ]
        );
        // What they are: each nominal wait less a whole-millisecond draw of up to half of it,
        // from one generator seeded with the seed.
        let mut rng = crate::jitter::Rng::with_seed(7);
        let derived: Vec<_> = (1..=8)
            .map(|n| {
                let nominal = p.nominal_wait(n);
                let half = u64::try_from(nominal.as_millis() / 2).unwrap();
                nominal - ms(rng.up_to(half))
            })
            .collect();
        assert_eq!(derived, waits);
        assert_eq!(p.schedule().take(8).collect::<Vec<_>>(), waits, "same seed");
        let other: Vec<_> = p.with_jitter_seed(8).schedule().take(8).collect();
        assert_ne!(other, waits);
        for (n, wait) in (1..).zip(p.with_jitter_seed(9).schedule().take(2_000)) {
            let nominal = p.nominal_wait(n);
            assert!(wait <= nominal && wait >= nominal / 2, "{n}: {wait:?}");
        }
        // Full jitter reaches below half; bounded never does.
        let full = p.to_builder().jitter(Jitter::Full).build().unwrap();
        assert!(full
            .schedule()
            .take(200)
            .zip(1..)
            .any(|(w, n)| w < full.nominal_wait(n) / 2));
        assert!(full
            .schedule()
            .take(200)
            .zip(1..)
            .all(|(w, n)| w <= full.nominal_wait(n)));
    }

    #[test]
    fn huge_durations_never_panic() {
        let huge = PollPolicy::builder()
            .first_delay(Duration::MAX)
            .interval(Duration::MAX)
            .max_interval(Duration::MAX)
            .growth_percent(u32::MAX)
            .jitter(Jitter::Full)
            .deadline(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(huge.nominal_wait(u32::MAX), Duration::MAX);
        assert!(huge.schedule().take(100).all(|w| w <= Duration::MAX));
        let growing = PollPolicy::builder()
            .interval(Duration::from_secs(u64::MAX / 2))
            .max_interval(Duration::MAX)
            .growth_percent(u32::MAX)
            .jitter(Jitter::Bounded { percent: 100 })
            .build()
            .unwrap();
        assert_eq!(growing.nominal_wait(2), Duration::MAX);
        assert_eq!(growing.schedule().take(50).count(), 50);
        // The slowest growth still ends at its cap, without looping for ever.
        let slow = PollPolicy::builder()
            .interval(Duration::from_nanos(1))
            .growth_percent(101)
            .max_interval(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(slow.nominal_wait(u32::MAX), Duration::from_nanos(1));
        let slow = slow.to_builder().interval(ms(1)).build().unwrap();
        assert_eq!(slow.nominal_wait(u32::MAX), Duration::MAX);
    }
}
