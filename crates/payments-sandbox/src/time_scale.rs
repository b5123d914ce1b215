//! [`TimeScale`]: the factor the emulators multiply their retry schedules and delays by,
//! checked once when it is built.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A time scale outside `0 ..= 100` (or not a number).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "the time scale must be a number from 0 to {max} (1 is real time, 0.001 turns seconds into \
     milliseconds), not {value}",
    max = TimeScale::MAX
)]
pub struct InvalidTimeScale {
    value: String,
}

/// The factor the emulators multiply their retry schedules and delays by: `1` is real time,
/// `0.001` turns 15 s into 15 ms, `0` makes every wait zero. It is a finite number from 0 to
/// [`TimeScale::MAX`], checked once by [`TimeScale::new`] (or `parse`), so scaling a delay
/// never panics.
///
/// ```
/// use std::time::Duration;
/// use payments_sandbox::TimeScale;
///
/// let fast = TimeScale::new(0.001)?;
/// assert_eq!(fast.scale(Duration::from_secs(15)), Duration::from_millis(15));
/// assert!(TimeScale::new(f64::NAN).is_err());
/// assert!("-1".parse::<TimeScale>().is_err());
/// assert!("1e9".parse::<TimeScale>().is_err());
/// # Ok::<(), payments_sandbox::InvalidTimeScale>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct TimeScale(f64);

impl TimeScale {
    /// The largest scale: 100 (a 60-minute retry after 100 hours).
    pub const MAX: f64 = 100.0;
    /// Real time: `1`.
    pub const REAL_TIME: TimeScale = TimeScale(1.0);

    /// A scale from 0 to [`TimeScale::MAX`]; NaN, infinities, negative numbers and larger
    /// numbers are refused.
    pub fn new(factor: f64) -> Result<TimeScale, InvalidTimeScale> {
        if factor.is_finite() && (0.0..=Self::MAX).contains(&factor) {
            // -0.0 is in the range; keep the positive zero.
            Ok(TimeScale(factor.abs()))
        } else {
            Err(InvalidTimeScale {
                value: factor.to_string(),
            })
        }
    }

    /// The factor.
    pub fn get(self) -> f64 {
        self.0
    }

    /// `delay` multiplied by the factor. Never panics: a product too large for a `Duration`
    /// is `Duration::MAX` (a wait that never ends).
    pub fn scale(self, delay: Duration) -> Duration {
        Duration::try_from_secs_f64(delay.as_secs_f64() * self.0).unwrap_or(Duration::MAX)
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL_TIME
    }
}

impl fmt::Display for TimeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for TimeScale {
    type Err = InvalidTimeScale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<f64>() {
            Ok(f) => TimeScale::new(f),
            Err(_) => Err(InvalidTimeScale {
                value: format!("{s:?}"),
            }),
        }
    }
}

impl TryFrom<f64> for TimeScale {
    type Error = InvalidTimeScale;

    fn try_from(factor: f64) -> Result<Self, Self::Error> {
        TimeScale::new(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_factors_from_0_to_100() {
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.001,
            -1.0,
            100.0001,
            1e300,
        ] {
            let err = TimeScale::new(bad).unwrap_err();
            assert!(err.to_string().contains("from 0 to 100"), "{err}");
        }
        for good in [0.0, -0.0, 1e-9, 0.001, 1.0, 100.0] {
            assert!(TimeScale::new(good).is_ok(), "{good}");
        }
        assert_eq!(
            TimeScale::new(-0.0).unwrap().get().to_bits(),
            0.0f64.to_bits()
        );
        assert!("abc"
            .parse::<TimeScale>()
            .unwrap_err()
            .to_string()
            .contains("\"abc\""));
        assert_eq!(" 0.5 ".parse::<TimeScale>().unwrap().get(), 0.5);
        assert_eq!(TimeScale::default(), TimeScale::REAL_TIME);
    }

    #[test]
    fn scaling_never_panics() {
        let max = TimeScale::new(TimeScale::MAX).unwrap();
        assert_eq!(max.scale(Duration::MAX), Duration::MAX);
        assert_eq!(
            max.scale(Duration::from_secs(3600)),
            Duration::from_secs(360_000)
        );
        let zero = TimeScale::new(0.0).unwrap();
        assert_eq!(zero.scale(Duration::MAX), Duration::ZERO);
        let tiny = TimeScale::new(1e-300).unwrap();
        assert_eq!(tiny.scale(Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(
            TimeScale::new(0.001)
                .unwrap()
                .scale(Duration::from_secs(60)),
            Duration::from_millis(60)
        );
    }
}
