//! SplitMix64: a tiny deterministic random number generator for seeded tests.
//!
//! The core draws no random numbers; tests that need some (the simulated
//! network, shuffles) use this so that a seed reproduces a run exactly, on every
//! platform and forever (no dependency whose stream could change).

/// Steele, Lea & Flood's SplitMix64 (the generator `java.util.SplittableRandom`
/// and xoshiro's seeding use).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift: no modulo bias worth
    /// caring about in tests.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a collection of `len > 0` elements.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo <= hi, "between({lo}, {hi})");
        lo + self.index(hi - lo + 1)
    }

    /// True with probability `percent / 100`.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.index(i + 1));
        }
    }
}

#[test]
fn splitmix64_matches_the_reference_stream() {
    // First outputs for seed 0 of the reference C implementation.
    let mut rng = Rng::new(0);
    assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
}

#[test]
fn helpers_stay_in_range_and_shuffle_permutes() {
    let mut rng = Rng::new(7);
    for _ in 0..1000 {
        assert!(rng.below(3) < 3);
        let x = rng.between(2, 4);
        assert!((2..=4).contains(&x));
    }
    let mut v: Vec<u32> = (0..50).collect();
    rng.shuffle(&mut v);
    assert_ne!(
        v,
        (0..50).collect::<Vec<_>>(),
        "50 elements do not shuffle to themselves"
    );
    v.sort_unstable();
    assert_eq!(v, (0..50).collect::<Vec<_>>());
}
