//! A running router: its pool, ports, worker threads and control thread.
//!
//! ```text
//!  Config ──► open ports (one queue per worker) ──► Control::new (RIB, first snapshot)
//!         ──► spawn control thread (pinned to control_core)
//!         ──► spawn worker w (pinned to cores[w]) owning queue w of every port
//!  Router::stop ──► flag ──► workers flush and exit ──► control exits
//! ```
//!
//! A router is a value: several can run in one process (tests, `weir
//! lab`), joined by `mem` links.

use crate::config::Config;
use crate::control::{Control, ControlCounters};
use crate::ports::{self, OpenedPorts, PortView};
use anyhow::{Context, Result};
use pipeline::{CounterValues, Worker, WorkerConfig, WorkerCounters, WorkerQueues};
use pmd::drivers::mem::MemPort;
use pmd::{Mbuf, NativePool, Pool};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Options for starting a router beyond its config file.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Pin threads to the configured cores (off in tests running many
    /// routers on few cores).
    pub pin: bool,
    /// Worker settings.
    pub worker: WorkerConfig,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            pin: true,
            worker: WorkerConfig::default(),
        }
    }
}

/// Shared, read-only views of a running router's counters.
#[derive(Clone)]
pub struct Stats {
    /// Per port: name and per-queue counters.
    pub ports: Vec<PortView>,
    /// Per worker pipeline counters.
    pub workers: Vec<Arc<WorkerCounters>>,
    /// Control thread counters.
    pub control: Arc<ControlCounters>,
}

impl Stats {
    /// Pipeline counters summed over workers.
    pub fn pipeline(&self) -> CounterValues {
        CounterValues::sum(self.workers.iter().map(|w| &**w))
    }

    /// The oldest snapshot generation any worker still routes with.
    pub fn min_generation(&self) -> u64 {
        self.workers
            .iter()
            .map(|w| w.generation.get())
            .min()
            .unwrap_or(0)
    }
}

/// A router with its threads running.
pub struct Router {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    control: Option<JoinHandle<()>>,
    stats: Stats,
    external: HashMap<String, Vec<MemPort<Mbuf>>>,
    started: Instant,
    /// Warnings found while building the RIB.
    pub warnings: Vec<String>,
    pool: NativePool,
    cfg: Arc<Config>,
}

impl Router {
    /// Open every port of `cfg`, build the first snapshot and start the
    /// threads. Fails, with nothing left running, if a port cannot open.
    pub fn start(cfg: Config, opts: RunOptions) -> Result<Router> {
        let cfg = Arc::new(cfg);
        let nworkers = cfg.workers.cores.len().max(1);
        let max_mtu = cfg
            .interfaces
            .iter()
            .map(|i| i.mtu as usize)
            .max()
            .unwrap_or(1500);
        let data_room = (max_mtu + 14 + 8).max(pmd::pool::DEFAULT_DATA_ROOM);
        let pool = NativePool::new(cfg.workers.pool_size, data_room)
            .context("allocating the packet pool")?;
        let OpenedPorts {
            per_worker,
            views,
            external,
        } = ports::open_all(&cfg, nworkers, pool.clone())?;

        let queues: Vec<Arc<WorkerQueues<Mbuf>>> = (0..nworkers)
            .map(|_| Arc::new(WorkerQueues::new(4096)))
            .collect();
        let mut control = Control::new(cfg.clone(), pool.clone(), queues.clone());
        let warnings = control.warnings.clone();
        let rcu = control.rcu().clone();
        let stats = Stats {
            ports: views,
            workers: (0..nworkers).map(|_| Arc::default()).collect(),
            control: control.counters().clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));

        let control_core = cfg.workers.control_core;
        let ctrl_stop = stop.clone();
        let pin = opts.pin;
        let control_thread = std::thread::Builder::new()
            .name("weir-ctrl".into())
            .spawn(move || {
                if pin {
                    if let Some(c) = control_core {
                        core_affinity::set_for_current(core_affinity::CoreId { id: c });
                    }
                }
                let _lcore = pmd::lcore::register();
                control.run(&ctrl_stop);
            })
            .context("spawning the control thread")?;

        let mut workers = Vec::new();
        for (w, ports) in per_worker.into_iter().enumerate() {
            let core = cfg.workers.cores.get(w).copied();
            let stop = stop.clone();
            let pool = pool.clone();
            let rcu = rcu.clone();
            let q = queues[w].clone();
            let counters = stats.workers[w].clone();
            let wcfg = opts.worker.clone();
            let h = std::thread::Builder::new()
                .name(format!("weir-w{w}"))
                .spawn(move || {
                    if pin {
                        if let Some(c) = core {
                            core_affinity::set_for_current(core_affinity::CoreId { id: c });
                        }
                    }
                    let _lcore = pmd::lcore::register();
                    let mut worker = Worker::new(w, ports, pool, rcu, q, counters, &wcfg);
                    worker.run(&stop);
                })
                .context("spawning a worker thread")?;
            workers.push(h);
        }
        Ok(Router {
            stop,
            workers,
            control: Some(control_thread),
            stats,
            external,
            started: Instant::now(),
            warnings,
            pool,
            cfg,
        })
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The config it runs.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The packet pool (tests use it to build packets for external links).
    pub fn pool(&self) -> &NativePool {
        &self.pool
    }

    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Take the outside end of the `mem` link named by interface `name`
    /// (a link only one interface names), one value per queue.
    pub fn take_external(&mut self, name: &str) -> Option<Vec<MemPort<Mbuf>>> {
        self.external.remove(name)
    }

    /// Stop all threads and wait for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
        if let Some(h) = self.control.take() {
            let _ = h.join();
        }
    }

    /// Whether `stop` was called.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Free buffers in the pool right now.
    pub fn pool_available(&self) -> usize {
        self.pool.available()
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.stop();
    }
}
