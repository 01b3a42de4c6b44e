//! Latency: the generator's TSC stamps, compared with the TSC when the
//! tester takes the frame off the device's output ring, recorded in an
//! HdrHistogram (3 significant digits, nanoseconds).

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A latency histogram in nanoseconds.
pub struct LatencyHistogram {
    hist: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.hist.len())
            .finish()
    }
}

impl LatencyHistogram {
    /// An empty histogram (1 ns to 60 s, 3 significant digits; larger
    /// values are clamped to 60 s).
    pub fn new() -> Self {
        LatencyHistogram {
            hist: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds"),
        }
    }

    /// Record one latency.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(1));
    }

    /// Record `n` equal latencies.
    pub fn record_n(&mut self, ns: u64, n: u64) {
        let v = ns.clamp(1, self.hist.high());
        let _ = self.hist.record_n(v, n);
    }

    /// Latencies recorded.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// Add another histogram's values.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<()> {
        self.hist
            .add(&other.hist)
            .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))
    }

    /// The percentiles the report shows.
    pub fn summary(&self) -> LatencySummary {
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        let q = |p: f64| self.hist.value_at_quantile(p);
        LatencySummary {
            count: self.hist.len(),
            min_ns: self.hist.min(),
            mean_ns: self.hist.mean(),
            p50_ns: q(0.50),
            p90_ns: q(0.90),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: self.hist.max(),
        }
    }
}

/// Percentiles of a latency histogram, nanoseconds (values are the
/// histogram's, equal to the exact ones within 0.1 %).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Latencies recorded.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

impl LatencySummary {
    /// The percentiles in report order with their labels: p50, p90, p99,
    /// p99.9, max.
    pub fn percentiles(&self) -> [(&'static str, u64); 5] {
        [
            ("p50", self.p50_ns),
            ("p90", self.p90_ns),
            ("p99", self.p99_ns),
            ("p99.9", self.p999_ns),
            ("max", self.max_ns),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: u64, want: u64) -> bool {
        got.abs_diff(want) as f64 <= want as f64 * 0.001 + 1.0
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.summary(), LatencySummary::default());
        for ns in 1..=10_000u64 {
            h.record(ns * 100); // 100 ns .. 1 ms, uniform
        }
        let s = h.summary();
        assert_eq!(s.count, 10_000);
        assert!(close(s.min_ns, 100), "{s:?}");
        assert!(close(s.p50_ns, 500_000), "{s:?}");
        assert!(close(s.p90_ns, 900_000), "{s:?}");
        assert!(close(s.p99_ns, 990_000), "{s:?}");
        assert!(close(s.p999_ns, 999_000), "{s:?}");
        assert!(close(s.max_ns, 1_000_000), "{s:?}");
        assert!((s.mean_ns - 500_050.0).abs() < 500.0, "{s:?}");
    }

    #[test]
    fn a_tail_shows_only_in_the_high_percentiles() {
        let mut h = LatencyHistogram::new();
        h.record_n(1_000, 9_990);
        h.record_n(50_000, 10);
        let s = h.summary();
        assert!(close(s.p50_ns, 1_000) && close(s.p99_ns, 1_000), "{s:?}");
        assert!(
            close(s.p999_ns, 1_000),
            "rank 9990 is still the body: {s:?}"
        );
        assert!(close(s.max_ns, 50_000), "{s:?}");
        let mut other = LatencyHistogram::new();
        other.record(u64::MAX); // clamped, not lost
        h.merge(&other).unwrap();
        assert_eq!(h.len(), 10_001);
        assert!(h.summary().max_ns >= 60_000_000_000 - 60_000_000);
    }

    #[test]
    fn zero_counts_as_one_nanosecond() {
        let mut h = LatencyHistogram::new();
        h.record(0);
        assert_eq!(h.summary().min_ns, 1);
    }
}
