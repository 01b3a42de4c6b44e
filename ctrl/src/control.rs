//! The control thread of one router: ARP, next-hop resolution and
//! publishing forwarding snapshots.
//!
//! ```text
//!  workers ──punt──► Control::poll ──► ARP (RFC 826): answer, learn
//!                         │            held packets: resolve / hold / release
//!                         ├── tick (100 ms): retransmit, fail, probe
//!                         ├── GRE keepalives: probe, count answers, tunnel up/down
//!                         └── publish(Snapshot) ──► Rcu ──► workers (next burst)
//!  workers ◄─inject── ARP replies/requests, released packets, keepalive probes
//! ```
//!
//! A tunnel with `keepalive = { interval, retries }` is probed every
//! `interval` seconds (Cisco's scheme, [`pipeline::tunnel::build_keepalive`]);
//! after `retries` probes in a row without an answer it goes down: the
//! snapshot marks it down and the RIB is rebuilt without its routes, so
//! traffic takes whatever route is left. The first answer brings it up.
//!
//! The control thread never blocks a worker: it only talks to them through
//! the bounded punt/inject queues and the RCU cell.

use crate::config::Config;
use crate::neighbor::{Action, NeighborConfig, NeighborTable, PortInfo};
use crate::rib::{self, Rib};
use pipeline::fib::Fib4;
use pipeline::policy::Policies;
use pipeline::state::{
    self, Adj, DecapMap, IfaceState, Rcu, Snapshot, TunnelState, ADJ_FIRST_DYNAMIC,
};
use pipeline::tunnel::build_keepalive;
use pipeline::wire::arp;
use pipeline::wire::ethernet::{Address as EthernetAddress, EtherType, Frame};
use pipeline::{WorkerQueues, META_KEEPALIVE};
use pmd::{Buf, Counter, Pool};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counters of the control thread.
#[derive(Debug, Default)]
pub struct ControlCounters {
    /// ARP packets received.
    pub arp_rx: Counter,
    /// ARP requests sent.
    pub arp_requests: Counter,
    /// ARP replies sent.
    pub arp_replies: Counter,
    /// ARP packets malformed or not Ethernet/IPv4.
    pub arp_invalid: Counter,
    /// ARP packets about addresses not ours, dropped after learning.
    pub arp_ignored: Counter,
    /// Packets that could not be injected (worker queue full).
    pub inject_full: Counter,
    /// Packets held for resolution.
    pub held: Counter,
    /// Held packets released after resolution.
    pub released: Counter,
    /// Packets dropped waiting for resolution (queue full or failure).
    pub hold_dropped: Counter,
    /// Snapshots published.
    pub snapshots: Counter,
    /// GRE keepalive probes sent.
    pub keepalives_sent: Counter,
    /// GRE keepalive answers received.
    pub keepalives_received: Counter,
    /// Tunnel state changes (up to down or down to up).
    pub tunnel_flaps: Counter,
}

impl ControlCounters {
    /// Every counter with its stable name (output and JSON).
    pub fn values(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("arp_rx", self.arp_rx.get()),
            ("arp_requests", self.arp_requests.get()),
            ("arp_replies", self.arp_replies.get()),
            ("arp_invalid", self.arp_invalid.get()),
            ("arp_ignored", self.arp_ignored.get()),
            ("held", self.held.get()),
            ("released", self.released.get()),
            ("hold_dropped", self.hold_dropped.get()),
            ("inject_full", self.inject_full.get()),
            ("snapshots", self.snapshots.get()),
            ("keepalives_sent", self.keepalives_sent.get()),
            ("keepalives_received", self.keepalives_received.get()),
            ("tunnel_flaps", self.tunnel_flaps.get()),
        ]
    }
}

/// Keepalive state of one tunnel.
#[derive(Debug, Clone)]
pub(crate) struct Keepalive {
    interval: Duration,
    retries: u8,
    next: Instant,
    /// Probes sent since the last answer.
    missed: u8,
}

/// Work for the control thread from another thread (the gRPC endpoint):
/// it runs between two poll rounds with the control state to itself.
pub type Job<P> = Box<dyn FnOnce(&mut Control<P>) + Send>;

/// The config a router runs, as text.
#[derive(Clone, Debug, Default)]
pub struct ConfigSource {
    /// The source text, byte for byte as loaded or applied.
    pub text: String,
    /// Version: 1 at start, one more with every applied change.
    pub version: u64,
}

/// The control plane state of one router.
pub struct Control<P: Pool> {
    pub(crate) cfg: Arc<Config>,
    pool: P,
    rcu: Rcu,
    queues: Vec<Arc<WorkerQueues<P::Buf>>>,
    pub(crate) neighbors: NeighborTable<P::Buf>,
    /// The routes the FIBs were built from.
    pub(crate) rib: Rib,
    /// VRFs with their route counts, for readers on other threads (the
    /// metrics endpoint); refreshed when the routes change.
    pub(crate) vrf_view: Arc<arc_swap::ArcSwap<Vec<crate::api::proto::Vrf>>>,
    /// The running config's text and version.
    pub(crate) source: ConfigSource,
    /// Opens and swaps ports when a config change adds or removes
    /// interfaces; `None` when the router cannot (tests driving a bare
    /// control plane).
    pub(crate) ports: Option<Box<dyn crate::apply::PortHost>>,
    /// The router's capture taps (a capture on a port that a config change
    /// renumbers is interrupted).
    pub(crate) taps: Option<Arc<pipeline::CaptureTaps>>,
    /// Jobs from other threads.
    jobs: Option<crossbeam_channel::Receiver<Job<P>>>,
    /// Per worker: packets popped from its punt queue so far.
    popped: Vec<u64>,
    /// Per worker: punted packets still queued from before the last port
    /// renumbering (pop count up to which `stale_map` applies).
    pub(crate) stale_until: Vec<u64>,
    /// Old port number → new, for those packets.
    pub(crate) stale_map: Vec<Option<u16>>,
    pub(crate) fibs: Arc<Vec<Arc<Fib4>>>,
    pub(crate) base_adj: Vec<Adj>,
    pub(crate) ifaces: Arc<Vec<IfaceState>>,
    pub(crate) tunnels: Arc<Vec<TunnelState>>,
    pub(crate) decap: Arc<DecapMap>,
    pub(crate) policies: Arc<Policies>,
    /// Per tunnel: its keepalive, if configured.
    pub(crate) keepalives: Vec<Option<Keepalive>>,
    /// IPv4 identification of the next keepalive probe.
    probe_id: u16,
    pub(crate) generation: u64,
    counters: Arc<ControlCounters>,
    last_tick: Instant,
    actions: Vec<Action>,
    /// Problems found building the RIB (e.g. unreachable gateways).
    pub warnings: Vec<String>,
}

/// First adjacency index for neighbors: after the shared entries, one per
/// port and one per tunnel.
pub(crate) fn first_dynamic_adj(cfg: &Config) -> u32 {
    ADJ_FIRST_DYNAMIC + (cfg.interfaces.len() + cfg.tunnels.len()) as u32
}

/// What the neighbor table needs of each port.
pub(crate) fn port_infos(cfg: &Config) -> Vec<PortInfo> {
    cfg.interfaces
        .iter()
        .map(|i| PortInfo {
            mac: i.mac,
            mtu: i.mtu,
        })
        .collect()
}

/// Keepalive state per tunnel of `cfg`; `keep(t)` gives the state to carry
/// over for tunnel `t` (a config change that left it alone).
pub(crate) fn keepalives(
    cfg: &Config,
    keep: impl Fn(usize) -> Option<Keepalive>,
) -> Vec<Option<Keepalive>> {
    let start = Instant::now();
    cfg.tunnels
        .iter()
        .enumerate()
        .map(|(t, tun)| {
            let k = tun.keepalive?;
            let fresh = Keepalive {
                interval: Duration::from_secs(k.interval.into()),
                retries: k.retries,
                next: start,
                missed: 0,
            };
            Some(match keep(t) {
                Some(old) if old.interval == fresh.interval && old.retries == fresh.retries => old,
                _ => fresh,
            })
        })
        .collect()
}

impl<P: Pool> Control<P> {
    /// Build the first snapshot from `cfg` and the control state around it.
    pub fn new(cfg: Arc<Config>, pool: P, queues: Vec<Arc<WorkerQueues<P::Buf>>>) -> Self {
        let first = first_dynamic_adj(&cfg);
        let mut neighbors = NeighborTable::new(port_infos(&cfg), first, NeighborConfig::default());
        for n in &cfg.neighbors {
            neighbors.add_static(n.interface as u16, n.address, n.mac);
        }
        let (rib, warnings) = Rib::from_config(&cfg);
        let fibs = Arc::new(rib.build_fibs(&mut neighbors, cfg.interfaces.len()));
        let policies = Arc::new(rib::policies(&cfg, &mut neighbors, &[]));
        let base_adj = rib::base_adjacencies(&cfg);
        let ifaces = Arc::new(rib::iface_states(&cfg));
        let tunnels = rib::tunnel_states(&cfg, &[]);
        let decap = Arc::new(DecapMap::build(&tunnels));
        let keepalives = keepalives(&cfg, |_| None);
        let rcu = state::rcu(Snapshot::default());
        let nworkers = queues.len();
        let mut c = Control {
            cfg,
            pool,
            rcu,
            queues,
            neighbors,
            rib,
            vrf_view: Arc::default(),
            source: ConfigSource {
                text: String::new(),
                version: 1,
            },
            ports: None,
            taps: None,
            jobs: None,
            popped: vec![0; nworkers],
            stale_until: vec![0; nworkers],
            stale_map: Vec::new(),
            fibs,
            base_adj,
            ifaces,
            tunnels: Arc::new(tunnels),
            decap,
            policies,
            keepalives,
            probe_id: 0,
            generation: 0,
            counters: Arc::default(),
            last_tick: Instant::now(),
            actions: Vec::new(),
            warnings,
        };
        c.vrf_view.store(Arc::new(crate::api::views::vrfs(&c).vrfs));
        c.publish();
        c
    }

    /// VRFs with their route counts, kept current.
    pub fn vrf_view(&self) -> &Arc<arc_swap::ArcSwap<Vec<crate::api::proto::Vrf>>> {
        &self.vrf_view
    }

    /// Take jobs from other threads (see [`Job`]).
    pub fn set_jobs(&mut self, jobs: crossbeam_channel::Receiver<Job<P>>) {
        self.jobs = Some(jobs);
    }

    /// Remember the running config's source text (version 1).
    pub fn set_source(&mut self, text: String) {
        self.source = ConfigSource { text, version: 1 };
    }

    /// The capture taps of the router's workers.
    pub fn set_taps(&mut self, taps: Arc<pipeline::CaptureTaps>) {
        self.taps = Some(taps);
    }

    /// Let config changes add and remove ports through `host`.
    pub fn set_port_host(&mut self, host: Box<dyn crate::apply::PortHost>) {
        self.ports = Some(host);
    }

    /// The config it runs.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// The RCU cell workers load snapshots from.
    pub fn rcu(&self) -> &Rcu {
        &self.rcu
    }

    /// Counters.
    pub fn counters(&self) -> &Arc<ControlCounters> {
        &self.counters
    }

    /// The neighbor table.
    pub fn neighbors(&self) -> &NeighborTable<P::Buf> {
        &self.neighbors
    }

    /// Build a snapshot from the current state and publish it.
    pub fn publish(&mut self) {
        let snap = self.build_snapshot();
        self.store(snap);
    }

    /// Make the RCU cell hold `snap` (built by
    /// [`build_snapshot`](Self::build_snapshot)).
    pub(crate) fn store(&mut self, snap: Arc<Snapshot>) {
        self.rcu.store(snap);
        self.counters.snapshots.add(1);
    }

    /// The next snapshot from the current state (its generation is taken).
    pub(crate) fn build_snapshot(&mut self) -> Arc<Snapshot> {
        let mut adj = self.base_adj.clone();
        let map = self.neighbors.build(&mut adj);
        self.generation += 1;
        let mut snap = Snapshot {
            generation: self.generation,
            fibs: self.fibs.clone(),
            adj: Arc::new(adj.into()),
            neighbors: Arc::new(map),
            ifaces: self.ifaces.clone(),
            tunnels: self.tunnels.clone(),
            decap: self.decap.clone(),
            policies: self.policies.clone(),
        };
        snap.link_hairpins();
        self.tunnels = snap.tunnels.clone();
        Arc::new(snap)
    }

    /// Run until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if self.poll() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// Handle everything the workers punted, run timers, publish if the
    /// forwarding view changed. Returns packets handled.
    pub fn poll(&mut self) -> usize {
        let now = Instant::now();
        let mut n = 0;
        if let Some(jobs) = self.jobs.clone() {
            while let Ok(job) = jobs.try_recv() {
                job(self);
                n += 1;
            }
        }
        n += self.handle_punts(now, 4096);
        if now >= self.last_tick + Duration::from_millis(100) {
            self.last_tick = now;
            self.neighbors.tick(now, &mut self.actions);
            self.keepalive_tick(now);
        }
        self.run_actions();
        let nc = self.neighbors.counters;
        self.counters.held.set(nc.held);
        self.counters.released.set(nc.released);
        self.counters.hold_dropped.set(nc.hold_dropped);
        if self.neighbors.is_dirty() {
            self.publish();
        }
        n
    }

    /// A punted packet from before the last port renumbering: give it the
    /// new port numbers; false (drop it) if its port is gone.
    fn renumber(&self, p: &mut P::Buf) -> bool {
        let map = |port: u16| self.stale_map.get(usize::from(port)).copied().flatten();
        let m = p.meta_mut();
        let Some(i) = map(m.in_port) else {
            return false;
        };
        m.in_port = i;
        if m.flags & pipeline::META_HOLD != 0 {
            let Some(o) = map(m.out_port) else {
                return false;
            };
            m.out_port = o;
        }
        true
    }

    /// Handle up to about `budget` punted packets (every one with
    /// `usize::MAX`); those from before the last port renumbering get the
    /// new numbers first. Returns how many.
    pub(crate) fn handle_punts(&mut self, now: Instant, budget: usize) -> usize {
        let mut n = 0;
        for w in 0..self.queues.len() {
            while let Some(mut p) = self.queues[w].punt.pop() {
                n += 1;
                self.popped[w] += 1;
                if self.popped[w] <= self.stale_until[w] && !self.renumber(&mut p) {
                    continue;
                }
                self.handle_punt(w, p, now);
                if n >= budget {
                    break;
                }
            }
        }
        n
    }

    fn run_actions(&mut self) {
        let actions = std::mem::take(&mut self.actions);
        for a in &actions {
            match *a {
                Action::Request { port, ip } => self.send_arp_request(port, ip),
            }
        }
        self.actions = actions;
        self.actions.clear();
    }

    fn handle_punt(&mut self, worker: usize, p: P::Buf, now: Instant) {
        if p.meta().flags & pipeline::META_HOLD != 0 {
            let port = p.meta().out_port;
            let ip = Ipv4Addr::from(p.meta().next_hop);
            if let Some((mut p, mac)) = self.neighbors.resolve(port, ip, p, now, &mut self.actions)
            {
                p.meta_mut().flags &= !pipeline::META_HOLD;
                p.data_mut()[..6].copy_from_slice(&mac);
                self.inject(worker, p);
            }
            return;
        }
        let port = p.meta().in_port;
        if let Some(t) = usize::from(port).checked_sub(self.cfg.interfaces.len()) {
            // Only keepalive answers come from tunnel interfaces.
            self.keepalive_answer(t);
            return;
        }
        let is_arp = Frame::new_checked(p.data())
            .map(|f| f.ethertype() == EtherType::ARP)
            .unwrap_or(false);
        if is_arp {
            self.handle_arp(worker, port, p, now);
        }
    }

    /// RFC 826 packet reception, with the merge rule: update an existing
    /// entry for the sender; if the target is one of our addresses on this
    /// interface, add the sender and answer requests.
    fn handle_arp(&mut self, worker: usize, port: u16, p: P::Buf, now: Instant) {
        self.counters.arp_rx.add(1);
        let parsed = Frame::new_checked(p.data()).ok().and_then(|f| {
            let pkt = arp::Packet::new_checked(f.payload()).ok()?;
            arp::Repr::parse(&pkt).ok()
        });
        let Some(arp::Repr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = parsed
        else {
            self.counters.arp_invalid.add(1);
            return;
        };
        let cfg = self.cfg.clone();
        let Some(itf) = cfg.interfaces.get(port as usize) else {
            return;
        };
        let sha = source_hardware_addr.0;
        let spa = source_protocol_addr;
        let ours = itf.addresses.iter().any(|a| a.addr == target_protocol_addr);
        let on_link = itf.addresses.iter().any(|a| a.contains(spa));
        let sane_sender = on_link && !source_hardware_addr.is_multicast() && sha != [0; 6];
        if sane_sender {
            let held = self.neighbors.learn(port, spa, sha, ours, now);
            for mut h in held {
                h.meta_mut().flags &= !pipeline::META_HOLD;
                h.data_mut()[..6].copy_from_slice(&sha);
                self.inject(worker, h);
            }
        }
        if !ours {
            self.counters.arp_ignored.add(1);
            return;
        }
        if operation == arp::Operation::Request && sane_sender {
            let reply = arp::Repr::EthernetIpv4 {
                operation: arp::Operation::Reply,
                source_hardware_addr: EthernetAddress(itf.mac),
                source_protocol_addr: target_protocol_addr,
                target_hardware_addr: source_hardware_addr,
                target_protocol_addr: spa,
            };
            if self.send_arp(worker, port, source_hardware_addr, &reply) {
                self.counters.arp_replies.add(1);
            }
        }
    }

    fn send_arp_request(&mut self, port: u16, ip: Ipv4Addr) {
        let cfg = self.cfg.clone();
        let Some(itf) = cfg.interfaces.get(port as usize) else {
            return;
        };
        let src = itf
            .addresses
            .iter()
            .find(|a| a.contains(ip))
            .or(itf.addresses.first())
            .map_or(Ipv4Addr::UNSPECIFIED, |a| a.addr);
        let req = arp::Repr::EthernetIpv4 {
            operation: arp::Operation::Request,
            source_hardware_addr: EthernetAddress(itf.mac),
            source_protocol_addr: src,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ip,
        };
        if self.send_arp(0, port, EthernetAddress::BROADCAST, &req) {
            self.counters.arp_requests.add(1);
        }
    }

    fn send_arp(
        &mut self,
        worker: usize,
        port: u16,
        dst: EthernetAddress,
        repr: &arp::Repr,
    ) -> bool {
        let cfg = self.cfg.clone();
        let Some(itf) = cfg.interfaces.get(port as usize) else {
            return false;
        };
        let Some(mut p) = self.pool.alloc() else {
            return false;
        };
        let len = 14 + repr.buffer_len();
        let Some(buf) = p.append(len) else {
            return false;
        };
        let mut f = Frame::new_unchecked(&mut buf[..]);
        f.set_dst_addr(dst);
        f.set_src_addr(EthernetAddress(itf.mac));
        f.set_ethertype(EtherType::ARP);
        let mut a = arp::Packet::new_unchecked(&mut buf[14..]);
        repr.emit(&mut a);
        p.meta_mut().out_port = port;
        self.inject(worker, p)
    }

    /// Whether tunnel `t` is up.
    pub fn tunnel_up(&self, t: usize) -> Option<bool> {
        self.tunnels.get(t).map(|t| t.up)
    }

    /// Send the keepalive probes that are due; take down the tunnels whose
    /// probes went unanswered `retries` times in a row.
    fn keepalive_tick(&mut self, now: Instant) {
        let mut changed = false;
        for t in 0..self.keepalives.len() {
            let Some(k) = &mut self.keepalives[t] else {
                continue;
            };
            if now < k.next {
                continue;
            }
            k.next = now + k.interval;
            if k.missed >= k.retries && self.tunnels[t].up {
                changed |= self.set_tunnel_up(t, false);
            }
            if let Some(k) = &mut self.keepalives[t] {
                k.missed = k.missed.saturating_add(1);
            }
            self.send_keepalive(t);
        }
        if changed {
            self.rebuild_routes();
        }
    }

    fn send_keepalive(&mut self, t: usize) {
        let Some(mut p) = self.pool.alloc() else {
            return;
        };
        self.probe_id = self.probe_id.wrapping_add(1);
        if build_keepalive(&mut p, &self.tunnels[t], self.probe_id).is_none() {
            return;
        }
        let m = p.meta_mut();
        m.flags = META_KEEPALIVE;
        m.out_port = t as u16;
        if self.inject(0, p) {
            self.counters.keepalives_sent.add(1);
        }
    }

    /// An answer to tunnel `t`'s keepalive came back.
    fn keepalive_answer(&mut self, t: usize) {
        let Some(Some(k)) = self.keepalives.get_mut(t) else {
            return;
        };
        self.counters.keepalives_received.add(1);
        k.missed = 0;
        if !self.tunnels[t].up && self.set_tunnel_up(t, true) {
            self.rebuild_routes();
        }
    }

    /// Mark tunnel `t` up or down; true if that changed it.
    fn set_tunnel_up(&mut self, t: usize, up: bool) -> bool {
        if self.tunnels[t].up == up {
            return false;
        }
        let mut tunnels = (*self.tunnels).clone();
        tunnels[t].up = up;
        self.tunnels = Arc::new(tunnels);
        self.counters.tunnel_flaps.add(1);
        true
    }

    /// Rebuild the RIB and FIBs without the tunnels that are down, and
    /// publish.
    fn rebuild_routes(&mut self) {
        let down: Vec<usize> = (0..self.tunnels.len())
            .filter(|&t| !self.tunnels[t].up)
            .collect();
        self.derive_routes(&down);
        self.publish();
    }

    /// Rebuild the RIB, FIBs and policies from the config, without the
    /// tunnels in `down`. Returns the RIB's warnings.
    pub(crate) fn derive_routes(&mut self, down: &[usize]) -> Vec<String> {
        let (rib, warnings) = Rib::from_config_with(&self.cfg, down);
        self.fibs = Arc::new(rib.build_fibs(&mut self.neighbors, self.cfg.interfaces.len()));
        self.policies = Arc::new(rib::policies(&self.cfg, &mut self.neighbors, down));
        self.rib = rib;
        self.vrf_view
            .store(Arc::new(crate::api::views::vrfs(self).vrfs));
        warnings
    }

    fn inject(&mut self, worker: usize, p: P::Buf) -> bool {
        let q = &self.queues[worker.min(self.queues.len() - 1)];
        match q.inject.push(p) {
            Ok(()) => true,
            Err(_) => {
                self.counters.inject_full.add(1);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use pmd::NativePool;
    use std::path::Path;

    /// A tunnel with keepalives whose far end never answers goes down
    /// after `retries` probes, taking its routes with it; an answer brings
    /// both back.
    #[test]
    fn keepalives_take_a_silent_tunnel_down_and_an_answer_brings_it_up() {
        let text = r#"
[[interface]]
name = "wan"
addresses = ["198.51.100.1/24"]
mem = { link = "x" }

[[tunnel]]
name = "gre9"
source = "wan"
destination = "203.0.113.9"
addresses = ["10.9.0.1/30"]
keepalive = { interval = 1, retries = 2 }

[[route]]
prefix = "172.16.0.0/16"
interface = "gre9"
"#;
        let cfg = Config::from_str_with(text, Path::new("ka.toml"), &Env { cpus: 2 }).unwrap();
        let pool = NativePool::new(64, 2048).unwrap();
        let q = Arc::new(WorkerQueues::new(16));
        let mut c = Control::new(Arc::new(cfg), pool, vec![q.clone()]);
        let routed = |c: &Control<NativePool>| {
            let snap = c.rcu().load();
            snap.route(0, u32::from(Ipv4Addr::new(172, 16, 1, 1)))
                .is_some()
        };
        assert!(routed(&c) && c.tunnel_up(0) == Some(true));
        let t0 = Instant::now();
        for i in 0..3u64 {
            c.keepalive_tick(t0 + Duration::from_secs(i));
            let p = q.inject.pop().expect("a probe each interval");
            assert_eq!(p.meta().flags, META_KEEPALIVE);
            assert_eq!(p.meta().out_port, 0);
        }
        // Two probes unanswered when the third was due: down, route gone.
        assert_eq!(c.tunnel_up(0), Some(false));
        assert!(!routed(&c));
        assert!(!c.rcu().load().tunnels[0].up);
        assert_eq!(c.counters().keepalives_sent.get(), 3);
        // The far end answers: up again, with its route.
        c.keepalive_answer(0);
        assert_eq!(c.tunnel_up(0), Some(true));
        assert!(routed(&c));
        assert_eq!(c.counters().tunnel_flaps.get(), 2);
    }
}
