//! `poll_until` on tokio's paused clock: when each question is asked, when polling stops, and
//! what it says about how it ended.

use std::time::Duration;

use payments_core::{poll_until, Jitter, PollOutcome, PollPolicy, PollStep};
use tokio::time::Instant;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Polls with `policy`, answering `Pending(n)` for question `n` until `final_at` (if any), and
/// returns the outcome and when each question was asked, from the start.
async fn run(policy: PollPolicy, final_at: Option<u32>) -> (PollOutcome<u32, u32>, Vec<Duration>) {
    let start = Instant::now();
    let mut asked = Vec::new();
    let mut n = 0;
    let outcome = poll_until(&policy, || {
        n += 1;
        asked.push(start.elapsed());
        let step = if Some(n) == final_at {
            PollStep::Final(n)
        } else {
            PollStep::Pending(n)
        };
        async move { step }
    })
    .await;
    (outcome, asked)
}

fn doubling() -> PollPolicy {
    PollPolicy::builder()
        .first_delay(secs(1))
        .interval(secs(1))
        .max_interval(secs(4))
        .deadline(secs(10))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn questions_follow_the_schedule_and_the_last_is_at_the_deadline() {
    let (outcome, asked) = run(doubling(), None).await;
    // 1 s first, then 1, 2, 4 (the cap), and the next 4 s wait is cut to the deadline.
    assert_eq!(asked, [secs(1), secs(2), secs(4), secs(8), secs(10)]);
    assert_eq!(
        outcome,
        PollOutcome::DeadlinePassed(5),
        "the last answer seen"
    );
}

#[tokio::test(start_paused = true)]
async fn a_final_answer_ends_polling_at_once() {
    let (outcome, asked) = run(doubling(), Some(3)).await;
    assert_eq!(outcome, PollOutcome::Final(3));
    assert_eq!(asked, [secs(1), secs(2), secs(4)]);
    // Final at the first question: no wait after it.
    let started = Instant::now();
    let (outcome, asked) = run(doubling().with_first_delay(Duration::ZERO), Some(1)).await;
    assert_eq!(outcome, PollOutcome::Final(1));
    assert_eq!(asked, [Duration::ZERO]);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_zero_deadline_asks_once_and_a_late_first_delay_asks_at_the_deadline() {
    let (outcome, asked) = run(doubling().with_deadline(Duration::ZERO), None).await;
    assert_eq!(outcome, PollOutcome::DeadlinePassed(1));
    assert_eq!(asked, [Duration::ZERO]);

    let late = doubling().with_first_delay(secs(60));
    let (outcome, asked) = run(late, None).await;
    assert_eq!(outcome, PollOutcome::DeadlinePassed(1));
    assert_eq!(asked, [secs(10)]);
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_shortens_the_waits_exactly() {
    let policy = doubling()
        .to_builder()
        .jitter(Jitter::Bounded { percent: 50 })
        .jitter_seed(7)
        .build()
        .unwrap();
    let mut expected = vec![secs(1)];
    let mut at = secs(1);
    for wait in policy.schedule() {
        at = (at + wait).min(secs(10));
        expected.push(at);
        if at == secs(10) {
            break;
        }
    }
    let (_, asked) = run(policy, None).await;
    assert_eq!(asked, expected);
    assert!(
        asked.len() > 5,
        "jitter only shortens: more questions than without it"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_deadline_it_polls_until_final() {
    let policy = doubling().without_deadline();
    let (outcome, asked) = run(policy, Some(40)).await;
    assert_eq!(outcome, PollOutcome::Final(40));
    assert_eq!(asked.len(), 40);
    // 1 s first, 1 + 2 + 4 × 37 after.
    assert_eq!(asked[39], secs(1 + 1 + 2 + 4 * 37));
}

#[tokio::test(start_paused = true)]
async fn huge_durations_never_panic() {
    // A deadline too far to add to now is no deadline; the first delay still waits (tokio caps
    // it at about 30 years, which the paused clock skips).
    let huge = PollPolicy::builder()
        .interval(Duration::MAX)
        .max_interval(Duration::MAX)
        .growth_percent(u32::MAX)
        .jitter(Jitter::Full)
        .deadline(Duration::MAX)
        .build()
        .unwrap();
    let (outcome, asked) = run(huge, Some(3)).await;
    assert_eq!(outcome, PollOutcome::Final(3));
    assert_eq!(asked.len(), 3);

    let (outcome, asked) = run(huge.with_first_delay(Duration::MAX), Some(1)).await;
    assert_eq!(outcome, PollOutcome::Final(1));
    assert_eq!(asked.len(), 1);
    assert!(asked[0] >= secs(86_400 * 365), "{:?}", asked[0]);

    // A huge wait with a deadline ends at the deadline.
    let capped = huge.with_deadline(secs(5));
    let (outcome, asked) = run(capped, None).await;
    assert_eq!(outcome, PollOutcome::DeadlinePassed(2));
    assert_eq!(asked, [Duration::ZERO, secs(5)]);
}
