//! The neighbor (ARP) table: IPv4 next hops on each port, their MACs,
//! their state, and the few packets held while one is being resolved.
//!
//! States (after RFC 1122 §2.3.2.1 and Linux's neighbor machine):
//!
//! ```text
//!   (none) ──packet──► Incomplete ──reply──► Reachable ──timeout──► Stale
//!     ▲                    │ 3 requests, no reply                     │ reply
//!     └────── Failed ◄─────┘ (held packets dropped)      Reachable ◄──┘
//!  Glean: a gateway named by a route, not asked yet (first packet asks).
//!  Static: from the config, never changes.
//! ```
//!
//! Every entry owns a stable adjacency index; the FIB points gateways at it
//! and the snapshot's neighbor map points connected hosts at it, so a
//! resolution changes one adjacency, never a FIB.

use pipeline::fib::NextHop;
use pipeline::state::{Adj, AdjKind, NeighborMap};
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Timers and limits of the neighbor table.
#[derive(Clone, Debug)]
pub struct NeighborConfig {
    /// Packets held per unresolved neighbor (Linux: 3 by default in
    /// `unres_qlen` packets terms).
    pub hold: usize,
    /// Requests sent before giving up.
    pub max_requests: u8,
    /// Time between requests.
    pub retrans: Duration,
    /// How long a confirmed entry stays reachable before it is probed.
    pub reachable: Duration,
    /// How long a failed entry suppresses new requests.
    pub failed_hold: Duration,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        NeighborConfig {
            hold: 3,
            max_requests: 3,
            retrans: Duration::from_secs(1),
            reachable: Duration::from_secs(300),
            failed_hold: Duration::from_secs(1),
        }
    }
}

/// State of one neighbor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// A gateway named by a route, never asked.
    Glean,
    /// Requests sent, no answer yet.
    Incomplete {
        /// Requests sent so far.
        requests: u8,
        /// When the last one went out.
        last: Instant,
    },
    /// Known and recently confirmed.
    Reachable {
        /// Its MAC.
        mac: [u8; 6],
        /// Last confirmation.
        confirmed: Instant,
    },
    /// Known but not confirmed lately: still used, being probed.
    Stale {
        /// Its MAC.
        mac: [u8; 6],
        /// Probes sent.
        probes: u8,
        /// When the last probe went out.
        last: Instant,
    },
    /// Did not answer; new requests are suppressed until `until`.
    Failed {
        /// End of the suppression.
        until: Instant,
    },
    /// Configured statically.
    Static {
        /// Its MAC.
        mac: [u8; 6],
    },
}

impl State {
    /// The MAC if known.
    pub fn mac(&self) -> Option<[u8; 6]> {
        match *self {
            State::Reachable { mac, .. } | State::Stale { mac, .. } | State::Static { mac } => {
                Some(mac)
            }
            _ => None,
        }
    }

    /// Short name for `show` output.
    pub fn name(&self) -> &'static str {
        match self {
            State::Glean => "glean",
            State::Incomplete { .. } => "incomplete",
            State::Reachable { .. } => "reachable",
            State::Stale { .. } => "stale",
            State::Failed { .. } => "failed",
            State::Static { .. } => "static",
        }
    }
}

/// One neighbor.
#[derive(Debug)]
pub struct Entry<B> {
    /// Its adjacency index.
    pub adj: NextHop,
    /// Its state.
    pub state: State,
    /// Packets waiting for its MAC.
    pub held: VecDeque<B>,
    /// Named as a gateway by a route (kept while routes use it).
    pub gateway: bool,
}

/// What the table asks the control thread to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Broadcast an ARP request for `ip` on `port`.
    Request {
        /// Port.
        port: u16,
        /// Address asked for.
        ip: Ipv4Addr,
    },
}

/// Per-port facts the table needs to fill adjacencies.
#[derive(Clone, Debug)]
pub struct PortInfo {
    /// The port's MAC (source of rewritten frames).
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: u16,
}

/// Counters of the neighbor table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NeighborCounters {
    /// Packets held waiting for resolution.
    pub held: u64,
    /// Held packets sent after resolution.
    pub released: u64,
    /// Packets dropped: hold queue full, or resolution failed.
    pub hold_dropped: u64,
    /// Resolutions that failed.
    pub failed: u64,
}

/// The neighbor table of one router.
#[derive(Debug)]
pub struct NeighborTable<B> {
    entries: HashMap<(u16, u32), Entry<B>>,
    ports: Vec<PortInfo>,
    first_adj: NextHop,
    next_adj: NextHop,
    free: Vec<NextHop>,
    /// Settings.
    pub cfg: NeighborConfig,
    /// Counters.
    pub counters: NeighborCounters,
    dirty: bool,
}

impl<B> NeighborTable<B> {
    /// An empty table; adjacency indices start at `first_adj`.
    pub fn new(ports: Vec<PortInfo>, first_adj: NextHop, cfg: NeighborConfig) -> Self {
        NeighborTable {
            entries: HashMap::new(),
            ports,
            first_adj,
            next_adj: first_adj,
            free: Vec::new(),
            cfg,
            counters: NeighborCounters::default(),
            dirty: true,
        }
    }

    fn alloc_adj(&mut self) -> NextHop {
        self.free.pop().unwrap_or_else(|| {
            let a = self.next_adj;
            self.next_adj += 1;
            a
        })
    }

    fn entry(&mut self, port: u16, ip: Ipv4Addr, state: State) -> &mut Entry<B> {
        if !self.entries.contains_key(&(port, ip.into())) {
            let adj = self.alloc_adj();
            self.dirty = true;
            self.entries.insert(
                (port, ip.into()),
                Entry {
                    adj,
                    state,
                    held: VecDeque::new(),
                    gateway: false,
                },
            );
        }
        self.entries
            .get_mut(&(port, ip.into()))
            .expect("just inserted")
    }

    /// The adjacency of gateway `ip` on `port`, creating a Glean entry.
    pub fn gateway_adj(&mut self, port: u16, ip: Ipv4Addr) -> NextHop {
        let e = self.entry(port, ip, State::Glean);
        e.gateway = true;
        e.adj
    }

    /// Add a static entry.
    pub fn add_static(&mut self, port: u16, ip: Ipv4Addr, mac: [u8; 6]) {
        let e = self.entry(port, ip, State::Static { mac });
        e.state = State::Static { mac };
        self.dirty = true;
    }

    /// Look an entry up.
    pub fn get(&self, port: u16, ip: Ipv4Addr) -> Option<&Entry<B>> {
        self.entries.get(&(port, ip.into()))
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = ((u16, Ipv4Addr), &Entry<B>)> {
        self.entries.iter().map(|(&(p, ip), e)| ((p, ip.into()), e))
    }

    /// True if the forwarding view changed since the last
    /// [`build`](Self::build).
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// A packet for `ip` on `port` has no MAC yet. Returns the packet back
    /// with the MAC when it is known (a race with a newer snapshot), else
    /// holds or drops it and maybe asks for a request to go out.
    pub fn resolve(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        pkt: B,
        now: Instant,
        actions: &mut Vec<Action>,
    ) -> Option<(B, [u8; 6])> {
        let hold = self.cfg.hold;
        let mut counters = self.counters;
        let e = self.entry(port, ip, State::Glean);
        if let Some(mac) = e.state.mac() {
            return Some((pkt, mac));
        }
        let mut dirty = false;
        match e.state {
            State::Glean => {
                e.state = State::Incomplete {
                    requests: 1,
                    last: now,
                };
                dirty = true;
                actions.push(Action::Request { port, ip });
                e.held.push_back(pkt);
                counters.held += 1;
            }
            State::Incomplete { .. } => {
                if e.held.len() < hold {
                    e.held.push_back(pkt);
                    counters.held += 1;
                } else {
                    counters.hold_dropped += 1;
                }
            }
            State::Failed { until } => {
                if now >= until {
                    e.state = State::Incomplete {
                        requests: 1,
                        last: now,
                    };
                    dirty = true;
                    actions.push(Action::Request { port, ip });
                    e.held.push_back(pkt);
                    counters.held += 1;
                } else {
                    counters.hold_dropped += 1;
                }
            }
            _ => unreachable!("states with a MAC returned above"),
        }
        self.counters = counters;
        self.dirty |= dirty;
        None
    }

    /// An ARP packet from `ip` at `mac` arrived on `port`. With `create`
    /// (the packet was addressed to us) a new entry is made; otherwise only
    /// an existing one is updated (RFC 826's merge). Returns the held
    /// packets, now sendable to `mac`.
    pub fn learn(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        mac: [u8; 6],
        create: bool,
        now: Instant,
    ) -> Vec<B> {
        if !create && !self.entries.contains_key(&(port, ip.into())) {
            return Vec::new();
        }
        let e = self.entry(port, ip, State::Glean);
        if matches!(e.state, State::Static { .. }) {
            return Vec::new();
        }
        let changed = e.state.mac() != Some(mac) || !matches!(e.state, State::Reachable { .. });
        e.state = State::Reachable {
            mac,
            confirmed: now,
        };
        let held: Vec<B> = e.held.drain(..).collect();
        self.counters.released += held.len() as u64;
        self.dirty |= changed;
        held
    }

    /// Run timers: retransmit requests, fail silent neighbors (dropping
    /// their held packets), probe stale ones.
    pub fn tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let cfg = self.cfg.clone();
        let mut dirty = false;
        let mut remove = Vec::new();
        for (&(port, ip), e) in self.entries.iter_mut() {
            match e.state {
                State::Incomplete { requests, last } if now >= last + cfg.retrans => {
                    if requests < cfg.max_requests {
                        e.state = State::Incomplete {
                            requests: requests + 1,
                            last: now,
                        };
                        actions.push(Action::Request {
                            port,
                            ip: ip.into(),
                        });
                    } else {
                        self.counters.failed += 1;
                        self.counters.hold_dropped += e.held.len() as u64;
                        e.held.clear();
                        e.state = State::Failed {
                            until: now + cfg.failed_hold,
                        };
                        dirty = true;
                    }
                }
                State::Reachable { mac, confirmed } if now >= confirmed + cfg.reachable => {
                    e.state = State::Stale {
                        mac,
                        probes: 1,
                        last: now,
                    };
                    actions.push(Action::Request {
                        port,
                        ip: ip.into(),
                    });
                }
                State::Stale { mac, probes, last } if now >= last + cfg.retrans => {
                    if probes < cfg.max_requests {
                        e.state = State::Stale {
                            mac,
                            probes: probes + 1,
                            last: now,
                        };
                        actions.push(Action::Request {
                            port,
                            ip: ip.into(),
                        });
                    } else if e.gateway {
                        e.state = State::Glean;
                        dirty = true;
                    } else {
                        remove.push((port, ip));
                    }
                }
                State::Failed { until } if now >= until => {
                    if e.gateway {
                        e.state = State::Glean;
                        dirty = true;
                    } else {
                        remove.push((port, ip));
                    }
                }
                _ => {}
            }
        }
        for k in remove {
            if let Some(e) = self.entries.remove(&k) {
                self.free.push(e.adj);
                dirty = true;
            }
        }
        self.dirty |= dirty;
    }

    /// Carry the table over to a new port numbering (a config change added
    /// or removed interfaces): `map[old]` is the old port's new number, or
    /// `None` if it is gone. Entries of removed ports are dropped with
    /// their held packets (counted in `hold_dropped`); static entries are
    /// dropped too (the new config adds its own), and so are gateways
    /// never asked for (the new routes name theirs again); gateway marks are
    /// cleared (the new routes set them again). Adjacency indices are
    /// handed out afresh from `first_adj`.
    pub fn migrate(&mut self, map: &[Option<u16>], ports: Vec<PortInfo>, first_adj: NextHop)
    where
        B: pmd::Buf,
    {
        let old = std::mem::take(&mut self.entries);
        self.ports = ports;
        self.first_adj = first_adj;
        self.next_adj = first_adj;
        self.free.clear();
        self.dirty = true;
        let mut keys: Vec<_> = old.keys().copied().collect();
        keys.sort_unstable();
        let mut old = old;
        for k in keys {
            let mut e = old.remove(&k).expect("key from the map");
            let new_port = map.get(k.0 as usize).copied().flatten();
            let unused = matches!(e.state, State::Static { .. })
                || (e.state == State::Glean && e.held.is_empty());
            let Some(port) = new_port.filter(|_| !unused) else {
                self.counters.hold_dropped += e.held.len() as u64;
                continue;
            };
            for p in e.held.iter_mut() {
                p.meta_mut().out_port = port;
            }
            e.adj = self.alloc_adj();
            e.gateway = false;
            self.entries.insert((port, k.1), e);
        }
    }

    /// Write this table's adjacencies into `adj` (grown as needed; indices
    /// below `first_adj` are left alone) and build the neighbor map.
    pub fn build(&mut self, adj: &mut Vec<Adj>) -> NeighborMap {
        self.dirty = false;
        if adj.len() < self.next_adj as usize {
            adj.resize(self.next_adj as usize, Adj::simple(AdjKind::Blackhole));
        }
        for a in adj.iter_mut().skip(self.first_adj as usize) {
            *a = Adj::simple(AdjKind::Blackhole);
        }
        let mut map = Vec::with_capacity(self.entries.len());
        for (&(port, ip), e) in &self.entries {
            let Some(p) = self.ports.get(port as usize) else {
                continue;
            };
            let a = match e.state.mac() {
                Some(mac) => Adj::forward(port, mac, p.mac, ip.into(), p.mtu),
                None => {
                    let kind = match e.state {
                        State::Glean => AdjKind::Glean,
                        _ => AdjKind::Incomplete,
                    };
                    let mut a = Adj::simple(kind);
                    a.port = port;
                    a.ip = ip;
                    a.mtu = p.mtu;
                    a.eth[6..].copy_from_slice(&p.mac);
                    a
                }
            };
            adj[e.adj as usize] = a;
            map.push((port, Ipv4Addr::from(ip), e.adj));
        }
        NeighborMap::build(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> NeighborTable<u32> {
        NeighborTable::new(
            vec![PortInfo {
                mac: [2, 0, 0, 0, 0, 1],
                mtu: 1500,
            }],
            10,
            NeighborConfig::default(),
        )
    }

    /// A config change put a new port 0 before the old one and removed
    /// nothing else: resolved entries move with their port (and keep their
    /// MAC), held packets follow, unused gateways and statics go.
    #[test]
    fn migrate_renumbers_ports_and_keeps_what_is_resolved() {
        use pmd::{Buf, NativePool, Pool};
        let pool = NativePool::new(16, 2048).unwrap();
        let port = |m: u8| PortInfo {
            mac: [2, 0, 0, 0, 0, m],
            mtu: 1500,
        };
        let mut t = NeighborTable::new(vec![port(1), port(2)], 10, NeighborConfig::default());
        let now = Instant::now();
        let (known, waiting, gone) = (
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 3),
            Ipv4Addr::new(10, 1, 0, 2),
        );
        let mac = [2, 0, 0, 0, 0, 9];
        t.learn(0, known, mac, true, now);
        let mut acts = Vec::new();
        let mut held = pool.alloc().unwrap();
        held.meta_mut().out_port = 0;
        assert!(t.resolve(0, waiting, held, now, &mut acts).is_none());
        t.gateway_adj(0, Ipv4Addr::new(10, 0, 0, 1));
        t.add_static(0, Ipv4Addr::new(10, 0, 0, 4), mac);
        t.learn(1, gone, mac, true, now);
        // Old port 0 is now 1; old port 1 is gone; a new port 0.
        t.migrate(&[Some(1), None], vec![port(7), port(1)], 20);
        assert_eq!(t.iter().count(), 2, "the resolved and the waiting neighbor");
        let e = t.get(1, known).unwrap();
        assert_eq!(e.state.mac(), Some(mac));
        assert!(e.adj >= 20);
        let w = t.get(1, waiting).unwrap();
        assert_eq!(w.held.len(), 1);
        assert_eq!(
            w.held[0].meta().out_port,
            1,
            "held packets follow their port"
        );
        assert!(t.get(0, known).is_none() && t.get(1, gone).is_none());
        let mut adj = Vec::new();
        let map = t.build(&mut adj);
        let a = adj[map.get(1, known.into()).unwrap() as usize];
        assert_eq!(a.kind, AdjKind::Forward);
        assert_eq!(a.port, 1);
        assert_eq!(&a.eth[6..], &[2, 0, 0, 0, 0, 1], "the port's own MAC");
    }

    #[test]
    fn holds_a_few_then_releases_on_reply() {
        let mut t = table();
        let now = Instant::now();
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        let mut acts = Vec::new();
        for i in 0..5 {
            assert!(t.resolve(0, ip, i, now, &mut acts).is_none());
        }
        assert_eq!(acts, vec![Action::Request { port: 0, ip }], "one request");
        assert_eq!(t.counters.held, 3);
        assert_eq!(t.counters.hold_dropped, 2);
        let mut adj = Vec::new();
        let map = t.build(&mut adj);
        let a = adj[map.get(0, ip.into()).unwrap() as usize];
        assert_eq!(a.kind, AdjKind::Incomplete);
        let mac = [2, 0, 0, 0, 0, 2];
        assert_eq!(t.learn(0, ip, mac, false, now), vec![0, 1, 2]);
        assert!(t.is_dirty());
        let map = t.build(&mut adj);
        let a = adj[map.get(0, ip.into()).unwrap() as usize];
        assert_eq!(a.kind, AdjKind::Forward);
        assert_eq!(&a.eth[..6], &mac);
        assert_eq!(&a.eth[6..], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(t.resolve(0, ip, 9, now, &mut acts), Some((9, mac)));
    }

    #[test]
    fn retries_then_fails_and_drops_held() {
        let mut t = table();
        let t0 = Instant::now();
        let ip = Ipv4Addr::new(10, 0, 0, 3);
        let mut acts = Vec::new();
        t.resolve(0, ip, 1, t0, &mut acts);
        for s in 1..=3 {
            t.tick(t0 + Duration::from_secs(s), &mut acts);
        }
        assert_eq!(acts.len(), 3, "three requests in all");
        assert!(matches!(t.get(0, ip).unwrap().state, State::Failed { .. }));
        assert_eq!(t.counters.failed, 1);
        assert_eq!(t.counters.hold_dropped, 1);
        // While failed, packets are dropped without new requests.
        t.resolve(0, ip, 2, t0 + Duration::from_millis(3500), &mut acts);
        assert_eq!(acts.len(), 3);
        t.tick(t0 + Duration::from_secs(5), &mut acts);
        assert!(t.get(0, ip).is_none(), "failed host entry removed");
    }

    #[test]
    fn unsolicited_arp_only_updates_known_entries() {
        let mut t = table();
        let now = Instant::now();
        let ip = Ipv4Addr::new(10, 0, 0, 4);
        assert!(t.learn(0, ip, [2; 6], false, now).is_empty());
        assert!(t.get(0, ip).is_none());
        t.learn(0, ip, [2; 6], true, now);
        assert_eq!(t.get(0, ip).unwrap().state.mac(), Some([2; 6]));
        t.learn(0, ip, [4; 6], false, now);
        assert_eq!(t.get(0, ip).unwrap().state.mac(), Some([4; 6]));
    }

    #[test]
    fn gateway_entries_start_glean() {
        let mut t = table();
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        let a = t.gateway_adj(0, ip);
        assert_eq!(t.gateway_adj(0, ip), a, "stable index");
        let mut adj = Vec::new();
        t.build(&mut adj);
        assert_eq!(adj[a as usize].kind, AdjKind::Glean);
        assert_eq!(adj[a as usize].ip, u32::from(ip));
    }
}
