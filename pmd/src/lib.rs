//! pmd: weir's packet buffers and poll-mode port drivers.
//!
//! - [`buf`]: the [`Buf`]/[`Pool`] traits the pipeline is generic over, and
//!   per-packet [`Meta`]data;
//! - [`pool`]: the native buffer pool ([`NativePool`], [`Mbuf`]);
//! - [`port`]: the burst API ([`Port`]) every driver implements;
//! - [`drivers`]: `mem`, `gen`, `pcap`, `af_packet`;
//! - [`lcore`], [`ring`], [`stats`]: the plumbing underneath.

#![warn(missing_docs)]

pub mod any_port;
pub mod buf;
pub mod drivers;
pub mod lcore;
pub mod pool;
pub mod port;
pub mod ring;
pub mod stats;
pub mod tsc;

pub use buf::{Buf, Burst, Meta, Pool, BURST, HEADROOM, META_LOCAL, META_VLAN};
pub use pool::{Mbuf, NativePool};
pub use port::Port;
pub use stats::{Counter, PortCounters, QueueStats};
