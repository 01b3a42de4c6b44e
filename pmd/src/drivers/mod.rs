//! Port drivers. Each exposes queues implementing [`crate::Port`].

pub mod af_packet;
pub mod gen;
pub mod mem;
pub mod pcap;
