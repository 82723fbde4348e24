//! Reconnect delays: exponential, capped, with full jitter (a uniformly random
//! delay up to the current cap), so many clients cut off at once do not come
//! back at once.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: StdRng,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, rng: StdRng) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
            rng,
        }
    }

    pub fn seeded(base: Duration, max: Duration, seed: u64) -> Self {
        Self::new(base, max, StdRng::seed_from_u64(seed))
    }

    /// The cap for the current attempt: `base * 2^attempt`, at most `max`.
    pub fn cap(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt: uniform in `[0, cap]`; the cap
    /// doubles with each call until `reset`.
    pub fn next_delay(&mut self) -> Duration {
        let cap = self.cap();
        self.attempt = self.attempt.saturating_add(1).min(32);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(0..=nanos))
    }

    /// After a successful session: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_doubling_cap_up_to_max() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        let mut b = Backoff::seeded(base, max, 7);
        let mut expected_cap = base;
        for _ in 0..20 {
            assert_eq!(b.cap(), expected_cap);
            let d = b.next_delay();
            assert!(d <= expected_cap, "{d:?} over {expected_cap:?}");
            expected_cap = (expected_cap * 2).min(max);
        }
        assert_eq!(b.cap(), max);
        b.reset();
        assert_eq!(b.cap(), base);
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut b = Backoff::seeded(Duration::from_secs(1), Duration::from_secs(1), 1);
        let delays: Vec<_> = (0..100).map(|_| b.next_delay()).collect();
        let low = delays
            .iter()
            .filter(|d| **d < Duration::from_millis(500))
            .count();
        assert!((20..=80).contains(&low), "{low} of 100 in the lower half");
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut b = Backoff::seeded(Duration::from_hours(1), Duration::MAX, 3);
        for _ in 0..100 {
            b.next_delay();
        }
        assert!(b.cap() >= Duration::from_hours(1));
    }
}
