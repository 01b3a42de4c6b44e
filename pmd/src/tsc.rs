//! A cheap cycle clock for the fast path: the CPU's time-stamp counter.
//!
//! [`rdtsc`] reads the counter (about 20 cycles, no syscall, no fence), and
//! [`hz`] says how fast it ticks, measured once against
//! [`std::time::Instant`] and cached. Modern x86 CPUs have an invariant TSC
//! that ticks at a constant rate and is synchronised across cores, so a
//! stamp taken on one core can be subtracted from a reading on another (the
//! generator does this to measure latency).
//!
//! On other architectures [`rdtsc`] falls back to nanoseconds since the first
//! call in the process (through `Instant`, so it costs a vDSO call) and
//! [`hz`] is exactly 1 GHz.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The current value of the time-stamp counter, in cycles.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The current value of the time-stamp counter, in cycles.
///
/// Fallback for architectures without a TSC: nanoseconds since the first
/// call in this process.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn rdtsc() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_nanos() as u64
}

/// How long [`hz`] measures the counter against the system clock.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Ticks of [`rdtsc`] per second.
///
/// The first call measures the counter against [`Instant`] over about 20 ms
/// (so call it once at start-up, not on the fast path); later calls return
/// the cached value.
pub fn hz() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(calibrate)
}

fn calibrate() -> u64 {
    if cfg!(not(target_arch = "x86_64")) {
        return 1_000_000_000;
    }
    let t0 = Instant::now();
    let c0 = rdtsc();
    std::thread::sleep(CALIBRATION);
    let c1 = rdtsc();
    let ns = t0.elapsed().as_nanos().max(1);
    let hz = (u128::from(c1.wrapping_sub(c0)) * 1_000_000_000 / ns) as u64;
    hz.max(1)
}

/// Convert a number of [`rdtsc`] cycles to nanoseconds.
#[inline]
pub fn cycles_to_ns(cycles: u64) -> u64 {
    (u128::from(cycles) * 1_000_000_000 / u128::from(hz())) as u64
}

/// Convert nanoseconds to a number of [`rdtsc`] cycles.
#[inline]
pub fn ns_to_cycles(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(hz()) / 1_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_forward_at_a_plausible_rate() {
        let hz = hz();
        assert!((1_000_000..100_000_000_000).contains(&hz), "hz = {hz}");
        assert_eq!(super::hz(), hz, "cached");
        let a = rdtsc();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(5) {}
        let b = rdtsc();
        assert!(b > a);
        let ns = cycles_to_ns(b - a);
        assert!((4_000_000..50_000_000).contains(&ns), "{ns} ns");
        let c = ns_to_cycles(1_000_000_000);
        assert!(c.abs_diff(hz) <= 1);
    }
}
