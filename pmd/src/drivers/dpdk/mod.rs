//! `dpdk`: DPDK ethdev ports (NICs and vdevs) with `rte_mbuf`s as weir's
//! packet buffers, through the `rte-sys` bindings (cargo feature `dpdk`).
//!
//! # Using it
//!
//! 1. [`eal_init`] once per process with an [`EalConfig`] (lcores,
//!    `no_huge`, file prefix, extra EAL arguments). The thread that calls
//!    it becomes the EAL's main lcore.
//! 2. A [`DpdkPool`] per NUMA socket: an `rte_pktmbuf_pool_create` mempool
//!    implementing [`crate::Pool`], its buffers ([`DpdkMbuf`]) implementing
//!    [`crate::Buf`], so the whole pipeline runs on mbufs, monomorphised
//!    for them.
//! 3. [`open`] each port with a [`DpdkPortConfig`]: a PCI address or a vdev
//!    string. A vdev that does not exist yet is hot-plugged
//!    (`rte_dev_probe`), so vdevs need not be known when the EAL starts
//!    (they may still be given there, [`EalConfig::vdevs`]). One
//!    [`DpdkPort`] per queue comes back; worker *w* owns queue *w*.
//! 4. Each worker thread (a plain `std::thread`, pinned first) calls
//!    [`register_thread`] and keeps the guard: the thread gets an EAL lcore
//!    id, so mempool per-lcore caches serve it without atomics.
//! 5. Drop the ports (the last queue of a port stops, closes and removes
//!    the device), then the pools, then [`eal_cleanup`].
//!
//! [`ring_pair`] makes two `net_ring` ports joined back to back (what one
//! sends the other receives), for tests and labs.
//!
//! # Buffers
//!
//! One mempool object, as [`DpdkPool`] creates it (no private area,
//! data room = 128 + the pool's data room):
//!
//! ```text
//!  +---------------------------------------+------------+--------------+----------+
//!  | struct rte_mbuf, 128 B = 2 cache lines | headroom   | packet data  | tailroom |
//!  |  line 1: buf_addr, data_off, ol_flags, | 128 B      | data_len B   |          |
//!  |          pkt_len, data_len, vlan_tci   | (RTE_PKT-  |              |          |
//!  |  line 2: next, ..., dynamic fields:    |  MBUF_     |              |          |
//!  |          weir_meta = Meta (16 B)       |  HEADROOM) |              |          |
//!  +---------------------------------------+------------+--------------+----------+
//!  ^ m                                     ^ buf_addr   ^ buf_addr + data_off
//! ```
//!
//! weir's [`crate::Meta`] is a registered mbuf dynamic field
//! (`rte_mbuf_dynfield_register("weir_meta")`), so it sits in the mbuf's
//! second cache line, which freeing an mbuf reads anyway, instead of a
//! third line per packet.
//!
//! [`DpdkMbuf`] is the mbuf pointer (`#[repr(transparent)]`), so a burst
//! of them *is* an array of `struct rte_mbuf *`: `rx_burst` lets the
//! driver write its pointers straight into the [`crate::Burst`]'s spare
//! capacity and `tx_burst` hands the burst's array to the driver. Packets
//! are single-segment: `prepend`/`adj`/`append`/`trim` move `data_off` and
//! `data_len` and keep `pkt_len == data_len`; a received chain (a frame
//! larger than the data room) is freed and counted in `rx_errors`.
//!
//! # Receive and transmit
//!
//! - `rx_burst` writes each mbuf's [`crate::Meta`]: `queue`, and the VLAN
//!   TCI with [`crate::META_VLAN`] when the device stripped an 802.1Q tag
//!   (`RTE_MBUF_F_RX_VLAN_STRIPPED`; VLAN stripping is requested where
//!   the device offers it, as on NICs and `net_af_packet`). Elsewhere the
//!   tag stays in the data, as with the `pcap` driver. `in_port` is the
//!   pipeline's to set.
//! - `tx_burst` puts the tag back in software for packets with
//!   `META_VLAN` (4 bytes of headroom, MACs moved), hands the burst to
//!   the driver, and frees and counts in `tx_dropped` what the driver did
//!   not take (its ring was full): it never retries or blocks.
//!
//! # Counters
//!
//! Each queue counts its packets and bytes per burst. The device's own
//! counters (`rte_eth_stats_get`) are folded into queue 0's
//! [`crate::QueueStats`]: `rx_missed` += `imissed` + `rx_nombuf`,
//! `rx_errors` += `ierrors`, `tx_dropped` += `oerrors` (except on
//! `net_ring`, whose `oerrors` are the unsent packets `tx_burst` already
//! counted). They are sampled at most every [`STATS_INTERVAL_US`] µs: from
//! `flush` (which a worker calls when idle and when it stops), from
//! queue 0's `rx_burst` every [`STATS_POLLS`] calls, and when queue 0 is
//! dropped; [`DpdkPort::sample_device_stats`] forces a sample.
//!
//! # Devices
//!
//! `DpdkPortConfig::device` is what `rte_dev_probe` takes: a PCI address
//! (`0000:03:00.0`, bound to vfio-pci; the EAL probes bound NICs at start
//! unless `--no-pci`) or a vdev string (`net_null0`, `net_ring0` (a
//! loopback), `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap,infinite_rx=1`,
//! `net_af_packet0,iface=veth0`). The port's name is the part before the
//! first comma. A device that cannot be found or created is
//! [`DpdkError::NoSuchDevice`] naming it. Several queues get RSS over
//! IPv4/IPv6 addresses and TCP/UDP ports where the device hashes (masked
//! by its `flow_type_rss_offloads`); offloads are only requested when the
//! device reports them.

mod eal;
mod error;
mod pool;
mod port;

pub use eal::{
    eal_cleanup, eal_config, eal_init, eal_running, lcore_id, register_thread, DpdkThread,
    EalConfig, DEFAULT_NO_HUGE_MB,
};
pub use error::DpdkError;
pub use pool::{DpdkMbuf, DpdkPool, MAX_CACHE_SIZE, MBUF_HEADROOM, PRIV_SIZE};
pub use port::{
    open, ring_pair, DeviceStats, DpdkPort, DpdkPortConfig, LinkStatus, RING_PREFIX,
    STATS_INTERVAL_US, STATS_POLLS,
};

/// The DPDK version the bindings were built against.
pub const DPDK_VERSION: &str = rte_sys::DPDK_VERSION;
