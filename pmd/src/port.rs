//! The burst API every port driver implements.
//!
//! A worker owns one [`Port`] value per (port, queue) it polls and one per
//! port it transmits on; the value is never shared, so drivers need no
//! locks. Counters live in a shared [`QueueStats`] the driver updates once
//! per burst.

use crate::buf::{Burst, Pool};
use crate::stats::QueueStats;
use std::sync::Arc;

/// One queue of a port, as seen by the worker that owns it.
pub trait Port<P: Pool>: Send {
    /// Receive up to `out.remaining_capacity()` packets, appending them to
    /// `out`; returns how many were added. Never blocks.
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize;

    /// [`rx_burst`](Port::rx_burst) for a caller that adds up the burst's
    /// bytes itself, as the forwarding path does while it reads each
    /// packet's length, and passes them to
    /// [`count_rx_bytes`](Port::count_rx_bytes): a driver that would scan
    /// the burst for them skips that here. Such a driver may also hand out
    /// packets that are not [whole](crate::Buf::whole) (its `rx_burst`
    /// drops them), which the caller drops. The default is `rx_burst`,
    /// which counted the bytes already.
    #[inline]
    fn rx_burst_uncounted(&mut self, out: &mut Burst<P::Buf>) -> usize {
        self.rx_burst(out)
    }

    /// Count `bytes` (as on the wire: a stripped 802.1Q tag included)
    /// received by the last [`rx_burst_uncounted`](Port::rx_burst_uncounted).
    /// The default does nothing: `rx_burst` counted them.
    #[inline]
    fn count_rx_bytes(&mut self, bytes: u64) {
        let _ = bytes;
    }

    /// Transmit every packet in `pkts`, leaving it empty. Returns how many
    /// were sent; the others were freed and counted in `tx_dropped`.
    /// Never blocks.
    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize;

    /// [`tx_burst`](Port::tx_burst) for a burst the caller vouches for: no
    /// packet carries an 802.1Q tag to insert ([`crate::Buf::vlan`] is
    /// `None` for every one) and their lengths add up to `bytes`. A driver
    /// that would scan the burst for these takes them from here instead
    /// (the forwarding fast path knows both); the default is `tx_burst`.
    #[inline]
    fn tx_burst_plain(&mut self, pkts: &mut Burst<P::Buf>, bytes: u64) -> usize {
        let _ = bytes;
        self.tx_burst(pkts)
    }

    /// Push out anything the driver batched (called when a worker is idle
    /// and before it stops).
    fn flush(&mut self) {}

    /// This queue's counters.
    fn stats(&self) -> &Arc<QueueStats>;
}
