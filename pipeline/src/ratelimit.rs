//! A token bucket for ICMP errors (RFC 1812 §4.3.2.8: a router must be able
//! to limit the rate at which it originates ICMP errors).

use std::time::Instant;

/// Allows `rate` events per second with bursts of up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_sec: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            rate: rate_per_sec as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last: Instant::now(),
        }
    }

    /// Take a token if one is available.
    pub fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }

    /// As [`allow`](Self::allow), at a given time (for tests).
    pub fn allow_at(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_and_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 10);
        let allowed = (0..50).filter(|_| b.allow_at(t0)).count();
        assert_eq!(allowed, 10, "burst size");
        assert!(!b.allow_at(t0));
        // 50 ms at 100/s refills 5 tokens.
        let t1 = t0 + Duration::from_millis(50);
        let allowed = (0..50).filter(|_| b.allow_at(t1)).count();
        assert_eq!(allowed, 5);
    }
}
