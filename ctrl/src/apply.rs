//! Applying a changed config to a running router, as one transaction.
//!
//! ```text
//!  candidate ──► version check ──► diff ──► restart-only parts? ──► refuse
//!            ──► port plan: keep (same name, same driver) / open / close
//!            ──► open new ports (failure: refuse, nothing changed)
//!            ──► new control state: neighbors renumbered, RIB, FIBs, tunnels
//!            ──► snapshot ──► ports changed? ──► Remap every worker, wait ──┐
//!                               │ no                                          │
//!                               └──────────────► publish snapshot ◄───────────┘
//! ```
//!
//! Everything that did not change keeps forwarding: workers are not
//! restarted, kept ports keep their queues and counters, resolved
//! neighbors stay resolved, and every packet is routed with one consistent
//! view (old table and old snapshot, or new table and new snapshot).
//! Changing the workers, the buffer pool or DPDK (EAL or `dpdk` ports)
//! needs a restart and is refused.

use crate::config::{Change, Config, Driver};
use crate::control::{first_dynamic_adj, keepalives, port_infos, Control};
use crate::ports::{Opener, PortView};
use crate::rib;
use anyhow::{anyhow, bail, Result};
use arc_swap::ArcSwap;
use pipeline::state::{DecapMap, Snapshot};
use pipeline::{PortControl, PortSlot, Remap};
use pmd::drivers::mem::MemPort;
use pmd::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The port counter views of a running router; replaced whole when a
/// config change adds or removes ports.
pub type PortViews = Arc<ArcSwap<Vec<PortView>>>;

/// Outside ends of `mem` links named by one interface only, by interface
/// name (tests and labs take them).
pub type ExternalLinks<B> = Arc<Mutex<HashMap<String, Vec<MemPort<B>>>>>;

/// Opens ports and swaps worker port tables, for the control thread.
pub trait PortHost: Send {
    /// Open the interfaces of `cfg` with `wanted[i]`, to be handed to the
    /// workers by the next [`remap`](Self::remap).
    fn open(&mut self, cfg: &Config, wanted: &[bool]) -> Result<()>;
    /// Close what [`open`](Self::open) opened (the change was given up).
    fn discard(&mut self);
    /// Give every worker its new port table: `plan[new] = Some(old)` keeps
    /// a port, `None` takes the opened one; wait until all took it, with
    /// `snapshot` describing it. Returns, per worker, how many packets it
    /// had punted before the swap.
    fn remap(&mut self, plan: &[Option<usize>], snapshot: Arc<Snapshot>) -> Result<Vec<u64>>;
}

/// The [`PortHost`] of a router with port type `Q`.
pub(crate) struct Host<P: Pool, Q> {
    pub opener: Opener<P, Q>,
    pub workers: Vec<Arc<PortControl<Q>>>,
    pub views: PortViews,
    pub external: ExternalLinks<P::Buf>,
    pending: Vec<Option<(Vec<Q>, PortView)>>,
}

impl<P: Pool, Q: pmd::Port<P> + Send + 'static> Host<P, Q> {
    pub fn new(
        opener: Opener<P, Q>,
        workers: Vec<Arc<PortControl<Q>>>,
        views: PortViews,
        external: ExternalLinks<P::Buf>,
    ) -> Self {
        Host {
            opener,
            workers,
            views,
            external,
            pending: Vec::new(),
        }
    }
}

/// How long a worker may take to swap its port table.
const REMAP_TIMEOUT: Duration = Duration::from_secs(5);

impl<P: Pool, Q: pmd::Port<P> + Send + 'static> PortHost for Host<P, Q>
where
    P: Send,
{
    fn open(&mut self, cfg: &Config, wanted: &[bool]) -> Result<()> {
        let opened = self.opener.open(
            cfg,
            |i| wanted.get(i).copied().unwrap_or(false),
            |_, _| None,
        )?;
        self.pending = opened.ports;
        if !opened.external.is_empty() {
            let mut ext = self.external.lock().map_err(|_| anyhow!("poisoned"))?;
            ext.extend(opened.external);
        }
        Ok(())
    }

    fn discard(&mut self) {
        self.pending.clear();
    }

    fn remap(&mut self, plan: &[Option<usize>], snapshot: Arc<Snapshot>) -> Result<Vec<u64>> {
        let old_views = self.views.load_full();
        let mut views = Vec::with_capacity(plan.len());
        let mut per_worker: Vec<Vec<PortSlot<Q>>> = (0..self.workers.len())
            .map(|_| Vec::with_capacity(plan.len()))
            .collect();
        let mut pending = std::mem::take(&mut self.pending);
        for (j, keep) in plan.iter().enumerate() {
            match *keep {
                Some(i) => {
                    views.push(
                        old_views
                            .get(i)
                            .cloned()
                            .ok_or_else(|| anyhow!("no port {i}"))?,
                    );
                    for w in per_worker.iter_mut() {
                        w.push(PortSlot::Keep(i));
                    }
                }
                None => {
                    let (qs, view) = pending
                        .get_mut(j)
                        .and_then(Option::take)
                        .ok_or_else(|| anyhow!("port {j} was not opened"))?;
                    views.push(view);
                    for (w, q) in per_worker.iter_mut().zip(qs) {
                        w.push(PortSlot::New(q));
                    }
                }
            }
        }
        for (ctl, ports) in self.workers.iter().zip(per_worker) {
            let remap = Remap {
                ports,
                snapshot: snapshot.clone(),
            };
            if ctl.remap.push(remap).is_err() {
                bail!("a worker has not taken the previous port table yet");
            }
        }
        let deadline = Instant::now() + REMAP_TIMEOUT;
        let mut punted = vec![None; self.workers.len()];
        let mut error = None;
        while punted.iter().any(Option::is_none) {
            for (w, ctl) in self.workers.iter().enumerate() {
                if let Some(done) = ctl.done.pop() {
                    punted[w] = Some(done.punted_before);
                    match done.removed {
                        // Closing happens here, off the workers.
                        Ok(removed) => drop(removed),
                        Err(e) => error = Some(anyhow!("worker {w}: {e}")),
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("the workers did not take the new port table within {REMAP_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        if let Some(e) = error {
            return Err(e);
        }
        self.views.store(Arc::new(views));
        Ok(punted.into_iter().map(Option::unwrap_or_default).collect())
    }
}

/// Why a config was not applied.
#[derive(Debug)]
pub enum ApplyError {
    /// The running config is not the version the change was based on.
    Conflict {
        /// The running version.
        running: u64,
    },
    /// The router cannot make this change live; nothing was changed.
    Refused(String),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::Conflict { running } => write!(
                f,
                "conflict: the running config is version {running}; get it again and redo the change"
            ),
            ApplyError::Refused(why) => write!(f, "{why}; nothing was applied"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// What an applied change did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The version now running.
    pub version: u64,
    /// What changed.
    pub changes: Vec<Change>,
    /// Problems found building the new RIB (e.g. unreachable gateways).
    pub warnings: Vec<String>,
}

/// Whether interface `i` of `old` and `j` of `new` are the same port
/// (same name and driver settings, mem peers compared by name, and for
/// `gen` ports the MAC, which the generator addresses).
fn same_port(old: &Config, i: usize, new: &Config, j: usize) -> bool {
    let (a, b) = (&old.interfaces[i], &new.interfaces[j]);
    if a.name != b.name {
        return false;
    }
    match (&a.driver, &b.driver) {
        (Driver::Mem(x), Driver::Mem(y)) => {
            let peer = |c: &Config, p: Option<usize>| p.map(|p| c.interfaces[p].name.clone());
            x.link == y.link && x.ring == y.ring && peer(old, x.peer) == peer(new, y.peer)
        }
        (Driver::Gen(x), Driver::Gen(y)) => x == y && a.mac == b.mac,
        (x, y) => x == y,
    }
}

/// For each interface of `new`, the interface of `old` it keeps (`None`:
/// opened anew). Both ends of a `mem` link between two interfaces are kept
/// or reopened together. `dpdk` ports cannot be opened or closed live.
pub fn port_plan(old: &Config, new: &Config) -> Result<Vec<Option<usize>>, String> {
    let mut plan: Vec<Option<usize>> = (0..new.interfaces.len())
        .map(|j| {
            let i = old.interface_index(&new.interfaces[j].name)?;
            same_port(old, i, new, j).then_some(i)
        })
        .collect();
    // A mem link is one pair of queues: reopen both ends if either is new.
    loop {
        let mut changed = false;
        for j in 0..plan.len() {
            let Driver::Mem(m) = &new.interfaces[j].driver else {
                continue;
            };
            if let (Some(_), Some(p)) = (plan[j], m.peer) {
                if p != j && plan[p].is_none() {
                    plan[j] = None;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let kept: Vec<bool> = (0..old.interfaces.len())
        .map(|i| plan.contains(&Some(i)))
        .collect();
    let dpdk_new = new
        .interfaces
        .iter()
        .zip(&plan)
        .find(|(itf, keep)| keep.is_none() && matches!(itf.driver, Driver::Dpdk(_)));
    let dpdk_gone = old
        .interfaces
        .iter()
        .zip(&kept)
        .find(|(itf, kept)| !**kept && matches!(itf.driver, Driver::Dpdk(_)));
    if let Some(itf) = dpdk_new.map(|(i, _)| i).or(dpdk_gone.map(|(i, _)| i)) {
        return Err(format!(
            "interface {}: dpdk ports cannot be added, removed or changed while running; restart weir with the new config",
            itf.name
        ));
    }
    Ok(plan)
}

impl<P: Pool> Control<P> {
    /// Apply `new` (source `text`), which was based on running version
    /// `base` (0: whatever runs), as one transaction.
    pub fn apply(
        &mut self,
        new: Arc<Config>,
        text: String,
        base: u64,
    ) -> Result<Applied, ApplyError> {
        let running = self.source.version;
        if base != 0 && base != running {
            return Err(ApplyError::Conflict { running });
        }
        if text == self.source.text {
            // The very config that runs: nothing to do, same version.
            return Ok(Applied {
                version: running,
                changes: Vec::new(),
                warnings: self.warnings.clone(),
            });
        }
        let old = self.cfg.clone();
        let changes = old.diff(&new);
        if let Some(c) = changes
            .iter()
            .find(|c| matches!(c.object, "workers" | "dpdk"))
        {
            return Err(ApplyError::Refused(format!(
                "{} changed ({}): that needs a restart",
                c.object, c.detail
            )));
        }
        let plan = port_plan(&old, &new).map_err(ApplyError::Refused)?;
        let renumbered = plan.len() != old.interfaces.len()
            || plan.iter().enumerate().any(|(j, k)| *k != Some(j));
        if renumbered {
            let Some(host) = self.ports.as_mut() else {
                return Err(ApplyError::Refused(
                    "this router cannot add or remove ports".into(),
                ));
            };
            let wanted: Vec<bool> = plan.iter().map(Option::is_none).collect();
            if let Err(e) = host.open(&new, &wanted) {
                host.discard();
                return Err(ApplyError::Refused(format!("{e:#}")));
            }
        }

        if renumbered {
            // What was punted so far carries today's numbers: handle it
            // now, so only packets punted during the swap need the map.
            self.handle_punts(Instant::now(), usize::MAX);
        }
        // Old interface (ports, then tunnels) → new.
        let nports_old = old.interfaces.len();
        let mut port_map = vec![None; nports_old];
        for (j, k) in plan.iter().enumerate() {
            if let Some(i) = *k {
                port_map[i] = Some(j as u16);
            }
        }
        let mut iface_map = port_map.clone();
        for t in &old.tunnels {
            iface_map.push(
                new.tunnel_index(&t.name)
                    .map(|n| (new.interfaces.len() + n) as u16),
            );
        }

        // The new control state.
        self.cfg = new.clone();
        self.neighbors
            .migrate(&port_map, port_infos(&new), first_dynamic_adj(&new));
        for n in &new.neighbors {
            self.neighbors
                .add_static(n.interface as u16, n.address, n.mac);
        }
        let same_tunnel = |t: usize| {
            let name = &new.tunnels[t].name;
            let o = old.tunnel_index(name)?;
            (!changes
                .iter()
                .any(|c| c.object == "tunnel" && &c.name == name))
            .then_some(o)
        };
        let seqs: Vec<_> = (0..new.tunnels.len())
            .map(|t| {
                same_tunnel(t)
                    .map(|o| self.tunnels[o].seq.clone())
                    .unwrap_or_default()
            })
            .collect();
        let mut tunnels = rib::tunnel_states(&new, &seqs);
        for (t, ts) in tunnels.iter_mut().enumerate() {
            if let Some(o) = same_tunnel(t) {
                ts.up = self.tunnels[o].up;
            }
        }
        let old_keepalives = std::mem::take(&mut self.keepalives);
        self.keepalives = keepalives(&new, |t| {
            same_tunnel(t).and_then(|o| old_keepalives.get(o).cloned().flatten())
        });
        let down: Vec<usize> = (0..tunnels.len()).filter(|&t| !tunnels[t].up).collect();
        self.decap = Arc::new(DecapMap::build(&tunnels));
        self.tunnels = Arc::new(tunnels);
        self.base_adj = rib::base_adjacencies(&new);
        self.ifaces = Arc::new(rib::iface_states(&new));
        let warnings = self.derive_routes(&down);
        let snapshot = self.build_snapshot();
        if renumbered {
            // A capture names its port by number: end it if that moves
            // (before the workers swap, so none copies a wrong port).
            if let (Some(taps), Some(spec)) =
                (&self.taps, self.taps.as_ref().and_then(|t| t.running()))
            {
                let p = usize::from(spec.port);
                if plan.get(p) != Some(&Some(p)) {
                    taps.interrupt();
                }
            }
            let host = self.ports.as_mut().expect("checked above");
            let punted = host
                .remap(&plan, snapshot.clone())
                .map_err(|e| ApplyError::Refused(format!("{e:#}")))?;
            self.stale_until = punted;
            self.stale_map = iface_map;
        }
        self.store(snapshot);
        self.source.text = text;
        self.source.version = running + 1;
        self.warnings = warnings.clone();
        Ok(Applied {
            version: self.source.version,
            changes,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        Config::from_str_with(text, Path::new("t.toml"), &Env { cpus: 4 }).unwrap()
    }

    const TWO: &str = r#"
[[interface]]
name = "a"
mem = { link = "x" }

[[interface]]
name = "b"
mem = { link = "y" }
"#;

    #[test]
    fn ports_are_kept_by_name_and_driver_and_new_ones_opened() {
        let old = cfg(TWO);
        let new = cfg(r#"
[[interface]]
name = "c"
mem = { link = "z" }

[[interface]]
name = "b"
mem = { link = "y" }
"#);
        assert_eq!(port_plan(&old, &new), Ok(vec![None, Some(1)]));
        let changed = cfg(&TWO.replace("link = \"y\"", "link = \"w\""));
        assert_eq!(port_plan(&old, &changed), Ok(vec![Some(0), None]));
    }

    #[test]
    fn both_ends_of_an_internal_link_reopen_together() {
        let linked = r#"
[[interface]]
name = "a"
mem = { link = "x" }

[[interface]]
name = "b"
mem = { link = "x" }
"#;
        let old = cfg(linked);
        assert_eq!(port_plan(&old, &old), Ok(vec![Some(0), Some(1)]));
        let new = cfg(&linked.replace("name = \"b\"", "name = \"b2\""));
        assert_eq!(port_plan(&old, &new), Ok(vec![None, None]));
    }
}
