//! Virtual time. True time is what the event queue orders by; every
//! machine reads its own clock, which runs at its own rate (skew), and the
//! relay's wall clock is also off by an offset (token expiry reads it).

use std::time::Duration;

/// Microseconds of true time since the simulation began.
pub type Micros = u64;

pub const MS: Micros = 1_000;
pub const SEC: Micros = 1_000_000;

/// A machine's monotonic clock: it advances `rate_ppm` microseconds per
/// million of true time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub rate_ppm: u64,
}

impl Clock {
    pub const TRUE: Clock = Clock {
        rate_ppm: 1_000_000,
    };

    /// How far this clock advances in `span` of true time.
    pub fn local(self, span: Micros) -> Micros {
        (u128::from(span) * u128::from(self.rate_ppm) / 1_000_000) as u64
    }

    /// The true time it takes this clock to advance `local` (at least).
    pub fn true_span(self, local: Micros) -> Micros {
        (u128::from(local) * 1_000_000).div_ceil(u128::from(self.rate_ppm)) as u64
    }
}

pub fn duration(micros: Micros) -> Duration {
    Duration::from_micros(micros)
}

/// `micros` as seconds with milliseconds, for the trace.
pub fn secs(micros: Micros) -> String {
    format!("{}.{:03}", micros / SEC, (micros % SEC) / MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_of_local_time_is_reached_after_its_true_span() {
        for rate_ppm in [900_000, 1_000_000, 1_033_333, 1_100_000] {
            let clock = Clock { rate_ppm };
            for local in [0, 1, 999, 10 * SEC + 7] {
                let t = clock.true_span(local);
                assert!(clock.local(t) >= local);
                assert!(t == 0 || clock.local(t - 1) < local);
            }
        }
    }
}
