//! Single-writer counters readable from any thread.
//!
//! Each counter is written by exactly one thread (the worker that owns the
//! queue), so an increment is a plain load and store, not a locked
//! read-modify-write; readers on other threads sum the per-queue values.

use std::sync::atomic::{AtomicU64, Ordering};

/// A counter with one writer and many readers.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add `n`. Only the owning thread may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
    /// Overwrite the value. Only the owning thread may call this.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters of one port queue (both directions).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct QueueStats {
    /// Packets received.
    pub rx_packets: Counter,
    /// Bytes received (frame bytes without FCS).
    pub rx_bytes: Counter,
    /// Packets the device dropped before weir saw them (ring overrun,
    /// no buffer).
    pub rx_missed: Counter,
    /// Malformed or unreadable frames discarded by the driver.
    pub rx_errors: Counter,
    /// Packets transmitted.
    pub tx_packets: Counter,
    /// Bytes transmitted.
    pub tx_bytes: Counter,
    /// Packets handed to `tx_burst` that could not be sent (ring full).
    pub tx_dropped: Counter,
}

/// A plain copy of port counters, summed over queues.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PortCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets dropped by the device or driver on receive.
    pub rx_missed: u64,
    /// Malformed frames discarded by the driver.
    pub rx_errors: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets that could not be transmitted.
    pub tx_dropped: u64,
}

impl PortCounters {
    /// Add one queue's counters.
    pub fn add(&mut self, q: &QueueStats) {
        self.rx_packets += q.rx_packets.get();
        self.rx_bytes += q.rx_bytes.get();
        self.rx_missed += q.rx_missed.get();
        self.rx_errors += q.rx_errors.get();
        self.tx_packets += q.tx_packets.get();
        self.tx_bytes += q.tx_bytes.get();
        self.tx_dropped += q.tx_dropped.get();
    }

    /// Sum the counters of several queues.
    pub fn sum<'a>(queues: impl IntoIterator<Item = &'a QueueStats>) -> Self {
        let mut c = PortCounters::default();
        for q in queues {
            c.add(q);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_queues() {
        let a = QueueStats::default();
        let b = QueueStats::default();
        a.rx_packets.add(3);
        b.rx_packets.add(4);
        b.tx_bytes.add(100);
        let c = PortCounters::sum([&a, &b]);
        assert_eq!(c.rx_packets, 7);
        assert_eq!(c.tx_bytes, 100);
    }
}
