//! ctrl: weir's control plane.
//!
//! - [`config`]: the declarative TOML config, validated as a whole;
//! - [`router`]: a running router (pool, ports, workers, control thread);
//! - [`control`]: the control thread: ARP, next hops, snapshot publishing;
//! - [`rib`]: routes per VRF, turned into the forwarding snapshot;
//! - [`neighbor`]: the ARP table; [`ports`]: opening a config's ports;
//! - [`report`]: what `weir run` prints.
//!
#![warn(missing_docs)]

pub mod api;
pub mod apply;
pub mod config;
pub mod control;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod logging;
pub mod neighbor;
pub mod ports;
pub mod report;
pub mod rib;
pub mod router;
