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

use crate::apply::{ExternalLinks, Host, PortViews};
use crate::config::{Config, Driver};
use crate::control::{Control, ControlCounters};
use crate::ports::{self, OpenedPorts, Opener, PortView};
use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use pipeline::{CounterValues, PortControl, Worker, WorkerConfig, WorkerCounters, WorkerQueues};
use pmd::any_port::AnyPort;
use pmd::drivers::mem::MemPort;
use pmd::{Mbuf, NativePool, Pool, Port};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// The config's source text, returned by the control endpoint's
    /// `GetConfig` (read from the config's path when `None`).
    pub source: Option<String>,
    /// Serve the control endpoint (gRPC) here; `None`: no endpoint (tests
    /// running many routers in one process).
    pub endpoint: Option<crate::config::ControlEndpoint>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            pin: true,
            worker: WorkerConfig::default(),
            source: None,
            endpoint: None,
        }
    }
}

/// Shared, read-only views of a running router's counters.
#[derive(Clone)]
pub struct Stats {
    /// Per port: name and per-queue counters (replaced when a config
    /// change adds or removes ports).
    pub ports: crate::apply::PortViews,
    /// Per worker pipeline counters.
    pub workers: Vec<Arc<WorkerCounters>>,
    /// Control thread counters.
    pub control: Arc<ControlCounters>,
}

impl Stats {
    /// The ports now.
    pub fn ports(&self) -> Arc<Vec<PortView>> {
        self.ports.load_full()
    }

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

/// The buffer pool behind a router, and what depends on its type.
pub(crate) enum Backend {
    /// Native pool: every driver but `dpdk`.
    Native {
        pool: NativePool,
        external: crate::apply::ExternalLinks<Mbuf>,
    },
    /// DPDK mempool: the `dpdk` driver, with the native drivers allocating
    /// from the same mempool.
    #[cfg(feature = "dpdk")]
    Dpdk { _pool: pmd::drivers::dpdk::DpdkPool },
}

/// Running threads of a router, whatever its pool.
pub(crate) struct Threads {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    control: JoinHandle<()>,
    stats: Stats,
    warnings: Vec<String>,
    endpoint: Option<crate::api::Endpoint>,
}

/// A router with its threads running.
pub struct Router {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    control: Option<JoinHandle<()>>,
    stats: Stats,
    backend: Backend,
    started: Instant,
    /// Warnings found while building the RIB.
    pub warnings: Vec<String>,
    cfg: Arc<Config>,
    endpoint: Option<crate::api::Endpoint>,
}

/// Data room for the largest frame any interface may carry.
pub(crate) fn data_room(cfg: &Config) -> usize {
    let max_mtu = cfg
        .interfaces
        .iter()
        .map(|i| i.mtu as usize)
        .max()
        .unwrap_or(1500);
    (max_mtu + 14 + 8).max(pmd::pool::DEFAULT_DATA_ROOM)
}

/// Build the control plane and spawn the control thread and one pinned
/// worker per queue set. `thread_init` runs first on every thread (the
/// DPDK backend registers the thread with the EAL there).
pub(crate) fn launch<P: Pool + Send, Q: Port<P> + Send + 'static>(
    cfg: &Arc<Config>,
    opts: &RunOptions,
    pool: P,
    opened: OpenedPorts<P, Q>,
    opener: Opener<P, Q>,
    thread_init: fn() -> ThreadGuard,
) -> Result<(Threads, ExternalLinks<P::Buf>)> {
    let OpenedPorts {
        per_worker,
        views,
        external,
    } = opened;
    let nworkers = per_worker.len();
    let taps = Arc::new(pipeline::CaptureTaps::new());
    let queues: Vec<Arc<WorkerQueues<P::Buf>>> = (0..nworkers)
        .map(|_| Arc::new(WorkerQueues::with_captures(4096, taps.clone())))
        .collect();
    let port_ctl: Vec<Arc<PortControl<Q>>> = (0..nworkers).map(|_| Arc::default()).collect();
    let views: PortViews = Arc::new(ArcSwap::from_pointee(views));
    let external: ExternalLinks<P::Buf> = Arc::new(Mutex::new(external));
    let mut control = Control::new(cfg.clone(), pool.clone(), queues.clone());
    control.set_source(
        opts.source
            .clone()
            .unwrap_or_else(|| std::fs::read_to_string(&cfg.path).unwrap_or_default()),
    );
    control.set_port_host(Box::new(Host::new(
        opener,
        port_ctl.clone(),
        views.clone(),
        external.clone(),
    )));
    control.set_taps(taps.clone());
    let (job_tx, job_rx) = crossbeam_channel::unbounded();
    control.set_jobs(job_rx);
    let warnings = control.warnings.clone();
    let rcu = control.rcu().clone();
    let control_vrfs = control.vrf_view().clone();
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
            let _guard = thread_init();
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
        let pc = port_ctl[w].clone();
        let h = std::thread::Builder::new()
            .name(format!("weir-w{w}"))
            .spawn(move || {
                if pin {
                    if let Some(c) = core {
                        core_affinity::set_for_current(core_affinity::CoreId { id: c });
                    }
                }
                let _guard = thread_init();
                let _lcore = pmd::lcore::register();
                let mut worker =
                    Worker::new(w, ports, pool, rcu, q, counters, &wcfg).with_port_control(pc);
                worker.run(&stop);
            })
            .context("spawning a worker thread")?;
        workers.push(h);
    }
    let endpoint = match &opts.endpoint {
        None => None,
        Some(eo) => {
            let svc = crate::api::server::Service::new(
                job_tx,
                stats.clone(),
                rcu.clone(),
                taps,
                Instant::now(),
                cfg.path.clone(),
            );
            let vrfs = control_vrfs;
            let (m_stats, m_rcu, started) = (stats.clone(), rcu.clone(), Instant::now());
            let metrics: crate::api::MetricsSource = Arc::new(move || {
                let g = m_rcu.load().generation;
                let c = crate::api::views::counters(&m_stats, started, g);
                crate::api::metrics::render(&c, &vrfs.load())
            });
            let core = control_core.filter(|_| opts.pin);
            match crate::api::start(svc, eo, metrics, core) {
                Ok(e) => e,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    for h in workers {
                        let _ = h.join();
                    }
                    let _ = control_thread.join();
                    return Err(e);
                }
            }
        }
    };
    Ok((
        Threads {
            stop,
            workers,
            control: control_thread,
            stats,
            warnings,
            endpoint,
        },
        external,
    ))
}

/// Whatever a thread must hold while it runs (the DPDK backend's EAL
/// thread registration).
pub(crate) type ThreadGuard = Option<Box<dyn std::any::Any>>;

fn no_init() -> ThreadGuard {
    None
}

impl Router {
    /// Open every port of `cfg`, build the first snapshot and start the
    /// threads. Fails, with nothing left running, if a port cannot open.
    pub fn start(cfg: Config, opts: RunOptions) -> Result<Router> {
        let cfg = Arc::new(cfg);
        if let Some(itf) = cfg
            .interfaces
            .iter()
            .find(|i| matches!(i.driver, Driver::Dpdk(_)))
        {
            #[cfg(feature = "dpdk")]
            {
                let _ = itf;
                return Self::start_dpdk(cfg, opts);
            }
            #[cfg(not(feature = "dpdk"))]
            anyhow::bail!(
                "interface {}: this weir was built without DPDK; build it with `cargo build --release --features dpdk`",
                itf.name
            );
        }
        let nworkers = cfg.workers.cores.len().max(1);
        let pool = NativePool::new(cfg.workers.pool_size, data_room(&cfg))
            .context("allocating the packet pool")?;
        let (opened, opener) =
            ports::open_all(&cfg, nworkers, pool.clone(), AnyPort::from, |_, _| None)?;
        let (t, external) = launch(&cfg, &opts, pool.clone(), opened, opener, no_init)?;
        Ok(Router::assemble(cfg, t, Backend::Native { pool, external }))
    }

    #[cfg(feature = "dpdk")]
    fn start_dpdk(cfg: Arc<Config>, opts: RunOptions) -> Result<Router> {
        crate::dpdk::start(cfg, opts)
    }

    pub(crate) fn assemble(cfg: Arc<Config>, t: Threads, backend: Backend) -> Router {
        Router {
            stop: t.stop,
            workers: t.workers,
            control: Some(t.control),
            stats: t.stats,
            backend,
            started: Instant::now(),
            warnings: t.warnings,
            cfg,
            endpoint: t.endpoint,
        }
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The config it runs.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The native packet pool (tests use it to build packets for
    /// external links); `None` for a DPDK-backed router.
    pub fn pool(&self) -> Option<&NativePool> {
        match &self.backend {
            Backend::Native { pool, .. } => Some(pool),
            #[cfg(feature = "dpdk")]
            Backend::Dpdk { .. } => None,
        }
    }

    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Take the outside end of the `mem` link named by interface `name`
    /// (a link only one interface names), one value per queue.
    pub fn take_external(&mut self, name: &str) -> Option<Vec<MemPort<Mbuf>>> {
        match &mut self.backend {
            Backend::Native { external, .. } => external.lock().ok()?.remove(name),
            #[cfg(feature = "dpdk")]
            Backend::Dpdk { .. } => None,
        }
    }

    /// The control endpoint, when it runs.
    pub fn endpoint(&self) -> Option<&crate::api::Endpoint> {
        self.endpoint.as_ref()
    }

    /// Stop all threads and wait for them.
    pub fn stop(&mut self) {
        if let Some(mut e) = self.endpoint.take() {
            e.stop();
        }
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
}

impl Drop for Router {
    fn drop(&mut self) {
        self.stop();
    }
}
