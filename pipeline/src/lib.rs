//! pipeline: weir's data plane.
//!
//! - [`wire`]: zero-copy views of Ethernet, 802.1Q, ARP, IPv4, ICMP, UDP, TCP;
//! - [`fib`]: the per-VRF IPv4 longest-prefix-match table;
//! - [`state`]: the immutable forwarding [`Snapshot`](state::Snapshot)
//!   published RCU-style by the control plane;
//! - [`worker`]: the polling loop, and the stages it runs (classify and
//!   IPv4 forwarding in `ipv4`);
//! - [`tunnel`]: GRE encapsulation, decapsulation and the hairpin;
//! - [`policy`]: policy-based routing rules;
//! - [`counters`]: per-worker counters with a reason for every drop;
//! - [`stall`]: the times a worker's loop did not run, and whether the
//!   host had its core;
//! - [`capture`]: packet capture taps on a port's receive and transmit
//!   bursts, for the control plane to stream as pcap.
#![warn(missing_docs)]

pub mod capture;
pub mod counters;
pub mod fib;
mod frag;
mod ipv4;
pub mod policy;
pub mod ratelimit;
mod reasm;
pub mod stall;
pub mod state;
pub mod testing;
pub mod tunnel;
pub mod wire;
pub mod worker;

pub use capture::{
    CaptureError, CaptureFilter, CaptureHandle, CaptureSpec, CaptureStats, CaptureTaps, Direction,
    Record,
};
pub use counters::{CounterValues, DropReason, WorkerCounters};
pub use state::{
    Adj, AdjKind, AdjTable, DecapMap, DfPolicy, FastAdj, FragmentPolicy, IfaceState, NeighborMap,
    Rcu, Snapshot, TunnelState,
};
pub use worker::{
    PortControl, PortSlot, Remap, RemapDone, Worker, WorkerConfig, WorkerQueues, META_HOLD,
    META_KEEPALIVE,
};
