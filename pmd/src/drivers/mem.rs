//! `mem`: in-process links between two ports.
//!
//! A link joins port A and port B with one pair of SPSC rings per queue:
//! what A's queue q transmits, B's queue q receives, and back. It joins two
//! weir ports (a router's own loop, routers in a lab) or weir and a test
//! harness or traffic generator. A full ring drops and counts, like a NIC
//! whose peer is too slow.

use crate::buf::{Burst, Pool};
use crate::port::Port;
use crate::ring::{ring, Consumer, Producer};
use crate::stats::QueueStats;
use std::sync::Arc;

/// One queue of one end of a `mem` link.
pub struct MemPort<B> {
    rx: Consumer<B>,
    tx: Producer<B>,
    stats: Arc<QueueStats>,
}

/// Create a link with `queues` queue pairs of `ring_size` packets each way.
/// Returns the queues of end A and of end B.
pub fn link<B: Send>(queues: usize, ring_size: usize) -> (Vec<MemPort<B>>, Vec<MemPort<B>>) {
    let mut a = Vec::with_capacity(queues);
    let mut b = Vec::with_capacity(queues);
    for _ in 0..queues.max(1) {
        let (a_tx, b_rx) = ring(ring_size);
        let (b_tx, a_rx) = ring(ring_size);
        a.push(MemPort {
            rx: a_rx,
            tx: a_tx,
            stats: Arc::default(),
        });
        b.push(MemPort {
            rx: b_rx,
            tx: b_tx,
            stats: Arc::default(),
        });
    }
    (a, b)
}

impl<P: Pool> Port<P> for MemPort<P::Buf> {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize {
        let start = out.len();
        let n = self.rx.dequeue(out);
        if n > 0 {
            let bytes: usize = out[start..].iter().map(crate::Buf::len).sum();
            self.stats.rx_packets.add(n as u64);
            self.stats.rx_bytes.add(bytes as u64);
        }
        n
    }

    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize {
        if pkts.is_empty() {
            return 0;
        }
        let want = pkts.len();
        let bytes: usize = pkts.iter().map(crate::Buf::len).sum();
        let n = self.tx.enqueue(pkts);
        let lost: usize = pkts.iter().map(crate::Buf::len).sum();
        pkts.clear();
        self.stats.tx_packets.add(n as u64);
        self.stats.tx_bytes.add((bytes - lost) as u64);
        if n < want {
            self.stats.tx_dropped.add((want - n) as u64);
        }
        n
    }

    fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::Buf;
    use crate::pool::NativePool;

    #[test]
    fn carries_both_ways_and_counts_overflow() {
        let pool = NativePool::new(256, 2048).unwrap();
        let (mut a, mut b) = link::<crate::pool::Mbuf>(1, 32);
        let mut burst = Burst::new();
        pool.alloc_bulk(&mut burst, 32);
        for (i, p) in burst.iter_mut().enumerate() {
            p.append(60).unwrap()[0] = i as u8;
        }
        assert_eq!(Port::<NativePool>::tx_burst(&mut a[0], &mut burst), 32);
        pool.alloc_bulk(&mut burst, 5);
        for p in burst.iter_mut() {
            p.append(60).unwrap();
        }
        assert_eq!(
            Port::<NativePool>::tx_burst(&mut a[0], &mut burst),
            0,
            "ring full"
        );
        assert!(burst.is_empty());
        let mut got = Burst::new();
        assert_eq!(Port::<NativePool>::rx_burst(&mut b[0], &mut got), 32);
        assert_eq!(got[5].data()[0], 5);
        let st = Port::<NativePool>::stats(&a[0]);
        assert_eq!(st.tx_packets.get(), 32);
        assert_eq!(st.tx_bytes.get(), 32 * 60);
        assert_eq!(st.tx_dropped.get(), 5);
        assert_eq!(Port::<NativePool>::stats(&b[0]).rx_bytes.get(), 32 * 60);
        Port::<NativePool>::tx_burst(&mut b[0], &mut got);
        let mut back = Burst::new();
        assert_eq!(Port::<NativePool>::rx_burst(&mut a[0], &mut back), 32);
        drop(back);
        assert_eq!(pool.available(), 256);
    }
}
