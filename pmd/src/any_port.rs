//! [`AnyPort`]: every driver's queue type in one enum.
//!
//! A worker polls ports of different drivers; dispatching once per burst
//! through a `match` keeps the per-packet path free of dynamic calls (the
//! drivers' loops are inlined into each arm), and the worker stays
//! monomorphic.

use crate::buf::{Burst, Pool};
use crate::drivers::{af_packet::AfPacketPort, gen::GenPort, mem::MemPort, pcap::PcapPort};
use crate::port::Port;
use crate::stats::QueueStats;
use std::sync::Arc;

/// One queue of a port of any driver.
pub enum AnyPort<P: Pool> {
    /// An in-process link.
    Mem(MemPort<P::Buf>),
    /// The built-in traffic generator and sink.
    Gen(GenPort<P>),
    /// Capture replay and recording.
    Pcap(PcapPort<P>),
    /// A Linux interface through TPACKET_V3 rings.
    AfPacket(AfPacketPort<P>),
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            AnyPort::Mem($p) => $e,
            AnyPort::Gen($p) => $e,
            AnyPort::Pcap($p) => $e,
            AnyPort::AfPacket($p) => $e,
        }
    };
}

impl<P: Pool> Port<P> for AnyPort<P> {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize {
        each!(self, p => Port::<P>::rx_burst(p, out))
    }

    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize {
        each!(self, p => Port::<P>::tx_burst(p, pkts))
    }

    #[inline]
    fn tx_burst_plain(&mut self, pkts: &mut Burst<P::Buf>, bytes: u64) -> usize {
        each!(self, p => Port::<P>::tx_burst_plain(p, pkts, bytes))
    }

    fn flush(&mut self) {
        each!(self, p => Port::<P>::flush(p))
    }

    fn stats(&self) -> &Arc<QueueStats> {
        each!(self, p => Port::<P>::stats(p))
    }
}

/// With the `dpdk` feature: one queue of any port of a DPDK-backed router,
/// where every native driver allocates from the DPDK mempool too.
#[cfg(feature = "dpdk")]
pub enum DpdkAnyPort {
    /// A native driver on DPDK mbufs.
    Native(AnyPort<crate::drivers::dpdk::DpdkPool>),
    /// A DPDK ethdev queue.
    Dpdk(crate::drivers::dpdk::DpdkPort),
}

#[cfg(feature = "dpdk")]
impl From<AnyPort<crate::drivers::dpdk::DpdkPool>> for DpdkAnyPort {
    fn from(p: AnyPort<crate::drivers::dpdk::DpdkPool>) -> Self {
        DpdkAnyPort::Native(p)
    }
}

#[cfg(feature = "dpdk")]
impl Port<crate::drivers::dpdk::DpdkPool> for DpdkAnyPort {
    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<crate::drivers::dpdk::DpdkMbuf>) -> usize {
        match self {
            DpdkAnyPort::Native(p) => p.rx_burst(out),
            DpdkAnyPort::Dpdk(p) => p.rx_burst(out),
        }
    }

    #[inline]
    fn rx_burst_uncounted(&mut self, out: &mut Burst<crate::drivers::dpdk::DpdkMbuf>) -> usize {
        match self {
            DpdkAnyPort::Native(p) => p.rx_burst_uncounted(out),
            DpdkAnyPort::Dpdk(p) => p.rx_burst_uncounted(out),
        }
    }

    #[inline]
    fn count_rx_bytes(&mut self, bytes: u64) {
        match self {
            DpdkAnyPort::Native(p) => p.count_rx_bytes(bytes),
            DpdkAnyPort::Dpdk(p) => p.count_rx_bytes(bytes),
        }
    }

    #[inline]
    fn tx_burst(&mut self, pkts: &mut Burst<crate::drivers::dpdk::DpdkMbuf>) -> usize {
        match self {
            DpdkAnyPort::Native(p) => p.tx_burst(pkts),
            DpdkAnyPort::Dpdk(p) => p.tx_burst(pkts),
        }
    }

    #[inline]
    fn tx_burst_plain(
        &mut self,
        pkts: &mut Burst<crate::drivers::dpdk::DpdkMbuf>,
        bytes: u64,
    ) -> usize {
        match self {
            DpdkAnyPort::Native(p) => p.tx_burst_plain(pkts, bytes),
            DpdkAnyPort::Dpdk(p) => p.tx_burst_plain(pkts, bytes),
        }
    }

    fn flush(&mut self) {
        match self {
            DpdkAnyPort::Native(p) => p.flush(),
            DpdkAnyPort::Dpdk(p) => p.flush(),
        }
    }

    fn stats(&self) -> &Arc<QueueStats> {
        match self {
            DpdkAnyPort::Native(p) => Port::stats(p),
            DpdkAnyPort::Dpdk(p) => Port::stats(p),
        }
    }
}
