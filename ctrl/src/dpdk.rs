//! The DPDK backend of a router (feature `dpdk`): the EAL from the
//! config's `[dpdk]` section, one mbuf pool shared by every driver, and
//! `dpdk` interfaces opened as ethdev ports.
//!
//! ```text
//!  [dpdk] + workers.cores ──► EAL (lcores = worker cores, --no-huge or --in-memory)
//!  pool_size / [dpdk].mbufs ──► DpdkPool (rte_mempool, per-lcore caches)
//!  dpdk = { device = ... }  ──► DpdkPort × workers (RSS)      ┐ DpdkAnyPort
//!  gen / mem / pcap / af_packet on DpdkPool                  ┘  (one match per burst)
//! ```
//!
//! The EAL lives as long as the process: a second router in the same
//! process must ask for the same EAL settings.

use crate::config::{Config, Driver};
use crate::ports;
use crate::router::{launch, Router, RunOptions, ThreadGuard};
use anyhow::{Context, Result};
use pmd::any_port::DpdkAnyPort;
use pmd::drivers::dpdk::{self, DpdkPool, DpdkPortConfig, EalConfig};
use std::sync::Arc;

/// The EAL settings a config asks for.
pub fn eal_config(cfg: &Config) -> EalConfig {
    let d = cfg.dpdk.clone().unwrap_or_default();
    EalConfig {
        lcores: cfg.workers.cores.clone(),
        no_huge: d.no_huge,
        memory_mb: d.memory_mb.map(|m| m as usize),
        file_prefix: d.file_prefix,
        vdevs: Vec::new(),
        args: d.args,
    }
}

fn register() -> ThreadGuard {
    dpdk::register_thread()
        .ok()
        .map(|g| Box::new(g) as Box<dyn std::any::Any>)
}

/// Start a router whose pool is a DPDK mempool.
pub(crate) fn start(cfg: Arc<Config>, opts: RunOptions) -> Result<Router> {
    dpdk::eal_init(&eal_config(&cfg)).context("starting DPDK's EAL")?;
    let nworkers = cfg.workers.cores.len().max(1);
    let d = cfg.dpdk.clone().unwrap_or_default();
    let mbufs = d.mbufs.unwrap_or(cfg.workers.pool_size);
    let pool = DpdkPool::new(
        "weir",
        mbufs,
        crate::router::data_room(&cfg),
        d.mbuf_cache.unwrap_or(256),
        -1,
    )
    .context("creating the mbuf pool")?;
    let (opened, opener) = ports::open_all(
        &cfg,
        nworkers,
        pool.clone(),
        DpdkAnyPort::from,
        |_, itf| match &itf.driver {
            Driver::Dpdk(o) => {
                let pc = DpdkPortConfig {
                    device: o.device.clone(),
                    queues: nworkers,
                    rx_desc: o.rx_desc,
                    tx_desc: o.tx_desc,
                    promisc: o.promisc,
                    mtu: Some(itf.mtu),
                };
                Some(
                    dpdk::open(&pc, &pool)
                        .with_context(|| format!("interface {}", itf.name))
                        .map(|qs| ("dpdk", qs.into_iter().map(DpdkAnyPort::Dpdk).collect())),
                )
            }
            _ => None,
        },
    )?;
    let (t, _external) = launch(&cfg, &opts, pool.clone(), opened, opener, register)?;
    Ok(Router::assemble(
        cfg,
        t,
        crate::router::Backend::Dpdk { _pool: pool },
    ))
}
