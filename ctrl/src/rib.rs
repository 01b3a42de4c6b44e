//! The RIB: routes from every source, per VRF, turned into the pipeline's
//! forwarding snapshot.
//!
//! Sources and their default administrative distances: connected (0, from
//! interface addresses), static (1, or the route's `distance`). For each
//! prefix the route with the lowest distance is installed. Next hops are
//! resolved to adjacencies:
//!
//! ```text
//!  connected 10.1.0.0/24 on gen0 ──► Attached(gen0)   (per-host neighbor map)
//!  local     10.1.0.1/32         ──► ADJ_LOCAL
//!  static    10.9.0.0/16 via 10.2.0.2 ──► neighbor adj (gen1, 10.2.0.2): Glean → Incomplete → Forward
//!  static    10.8.0.0/16 blackhole ──► ADJ_BLACKHOLE, reject ──► ADJ_REJECT
//! ```

use crate::config::{Config, RouteAction};
use crate::neighbor::NeighborTable;
use pipeline::fib::{Fib4, NextHop};
use pipeline::state::{
    Adj, AdjKind, IfaceState, ADJ_BLACKHOLE, ADJ_FIRST_DYNAMIC, ADJ_LOCAL, ADJ_REJECT,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Where a route came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Source {
    /// The router's own address (/32).
    Local,
    /// An interface's subnet.
    Connected,
    /// A static route from the config.
    Static,
}

/// What a route points at, before resolution to an adjacency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Target {
    /// Deliver to the router.
    Local,
    /// On-link on this port.
    Attached(u16),
    /// Via a gateway on this port.
    Gateway(u16, Ipv4Addr),
    /// Drop.
    Blackhole,
    /// Drop with ICMP unreachable.
    Reject,
    /// The broadcast address of a connected subnet: never forwarded.
    Broadcast,
}

/// One candidate route.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    /// Network address.
    pub prefix: Ipv4Addr,
    /// Prefix length.
    pub len: u8,
    /// Source.
    pub source: Source,
    /// Administrative distance (lower wins).
    pub distance: u8,
    /// What it points at.
    pub target: Target,
}

/// All routes of all VRFs.
#[derive(Clone, Debug, Default)]
pub struct Rib {
    /// Per VRF: prefix → candidates.
    pub vrfs: Vec<BTreeMap<(u32, u8), Vec<Route>>>,
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

impl Rib {
    /// Routes derived from the config: connected, local and static.
    /// Static routes whose gateway is on no connected subnet are left out
    /// (they would never resolve) and reported in the returned list.
    pub fn from_config(cfg: &Config) -> (Rib, Vec<String>) {
        let mut rib = Rib {
            vrfs: vec![BTreeMap::new(); cfg.vrfs.len()],
        };
        let mut warnings = Vec::new();
        for (port, itf) in cfg.interfaces.iter().enumerate() {
            for a in &itf.addresses {
                let ip = u32::from(a.addr);
                let net = ip & mask(a.len);
                rib.add(
                    itf.vrf,
                    Route {
                        prefix: net.into(),
                        len: a.len,
                        source: Source::Connected,
                        distance: 0,
                        target: Target::Attached(port as u16),
                    },
                );
                rib.add(
                    itf.vrf,
                    Route {
                        prefix: a.addr,
                        len: 32,
                        source: Source::Local,
                        distance: 0,
                        target: Target::Local,
                    },
                );
                if a.len <= 30 {
                    rib.add(
                        itf.vrf,
                        Route {
                            prefix: (net | !mask(a.len)).into(),
                            len: 32,
                            source: Source::Connected,
                            distance: 0,
                            target: Target::Broadcast,
                        },
                    );
                }
            }
        }
        for r in &cfg.routes {
            let target = match r.action {
                RouteAction::Blackhole => Target::Blackhole,
                RouteAction::Reject => Target::Reject,
                RouteAction::Forward => match (r.via, r.interface) {
                    (Some(via), Some(port)) => Target::Gateway(port as u16, via),
                    (None, Some(port)) => Target::Attached(port as u16),
                    (Some(via), None) => match connected_port(cfg, r.vrf, via) {
                        Some(port) => Target::Gateway(port, via),
                        None => {
                            warnings.push(format!(
                                "route {}/{} in VRF {}: gateway {} is on no connected subnet; route not installed",
                                r.prefix, r.len, cfg.vrfs[r.vrf].name, via
                            ));
                            continue;
                        }
                    },
                    (None, None) => continue, // rejected by config validation
                },
            };
            rib.add(
                r.vrf,
                Route {
                    prefix: r.prefix,
                    len: r.len,
                    source: Source::Static,
                    distance: r.distance,
                    target,
                },
            );
        }
        (rib, warnings)
    }

    /// Add a candidate route.
    pub fn add(&mut self, vrf: usize, r: Route) {
        if self.vrfs.len() <= vrf {
            self.vrfs.resize(vrf + 1, BTreeMap::new());
        }
        let key = (u32::from(r.prefix), r.len);
        let v = self.vrfs[vrf].entry(key).or_default();
        v.push(r);
        v.sort_by_key(|r| (r.distance, r.source));
    }

    /// The installed (best) route per prefix of one VRF.
    pub fn best(&self, vrf: usize) -> impl Iterator<Item = &Route> {
        self.vrfs
            .get(vrf)
            .into_iter()
            .flat_map(|m| m.values().filter_map(|v| v.first()))
    }

    /// Build the FIB of every VRF, resolving targets to adjacency indices
    /// (one pass per table, [`Fib4::from_routes`]). Later changes go into a
    /// clone of the published table ([`Fib4::insert`]/[`Fib4::remove`]
    /// copy only the parts they touch), never into the published one.
    pub fn build_fibs<B>(&self, neighbors: &mut NeighborTable<B>) -> Vec<Arc<Fib4>> {
        (0..self.vrfs.len())
            .map(|vrf| {
                let routes: Vec<(u32, u8, NextHop)> = self
                    .best(vrf)
                    .map(|r| {
                        let nh = match r.target {
                            Target::Local => ADJ_LOCAL,
                            Target::Blackhole | Target::Broadcast => ADJ_BLACKHOLE,
                            Target::Reject => ADJ_REJECT,
                            Target::Attached(port) => attached_adj(port),
                            Target::Gateway(port, ip) => neighbors.gateway_adj(port, ip),
                        };
                        (r.prefix.into(), r.len, nh)
                    })
                    .collect();
                Arc::new(Fib4::from_routes(routes))
            })
            .collect()
    }
}

/// The port of the connected subnet in `vrf` containing `ip`.
pub fn connected_port(cfg: &Config, vrf: usize, ip: Ipv4Addr) -> Option<u16> {
    let ip = u32::from(ip);
    cfg.interfaces
        .iter()
        .enumerate()
        .filter(|(_, i)| i.vrf == vrf)
        .flat_map(|(p, i)| i.addresses.iter().map(move |a| (p, a)))
        .filter(|(_, a)| ip & mask(a.len) == u32::from(a.addr) & mask(a.len))
        .max_by_key(|(_, a)| a.len)
        .map(|(p, _)| p as u16)
}

/// Adjacency index of interface `port`'s connected subnets.
pub fn attached_adj(port: u16) -> NextHop {
    ADJ_FIRST_DYNAMIC + port as NextHop
}

/// Per-port pipeline state from the config.
pub fn iface_states(cfg: &Config) -> Vec<IfaceState> {
    cfg.interfaces
        .iter()
        .map(|i| IfaceState {
            name: i.name.clone(),
            vrf: i.vrf as u16,
            mac: i.mac,
            mtu: i.mtu,
            primary_ip: i.addresses.first().map_or(0, |a| a.addr.into()),
            up: true,
        })
        .collect()
}

/// The fixed part of the adjacency table: local, blackhole, reject and one
/// Attached entry per port.
pub fn base_adjacencies(cfg: &Config) -> Vec<Adj> {
    let mut adj = vec![
        Adj::simple(AdjKind::Local),
        Adj::simple(AdjKind::Blackhole),
        Adj::simple(AdjKind::Reject),
    ];
    debug_assert_eq!(adj.len() as NextHop, ADJ_FIRST_DYNAMIC);
    for (port, i) in cfg.interfaces.iter().enumerate() {
        let mut a = Adj::simple(AdjKind::Attached);
        a.port = port as u16;
        a.mtu = i.mtu;
        a.eth[6..].copy_from_slice(&i.mac);
        adj.push(a);
    }
    adj
}
