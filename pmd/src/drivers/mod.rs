//! Port drivers. Each exposes queues implementing [`crate::Port`].

pub mod af_packet;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod gen;
pub mod mem;
pub mod pcap;
