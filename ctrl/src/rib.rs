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
//!  tunnel    10.75.0.0/30 on Tunnel75, static via Tunnel75 ──► Tunnel(75's index)
//!  imported  BGP's 10.20.0.0/16 into MAIN ──► the same target as in BGP
//! ```
//!
//! Route leaking: a static route's gateway is looked up among the
//! connected subnets of its `next_hop_vrf` (interfaces, then tunnels), so
//! the adjacency it resolves to is that VRF's port or tunnel. A VRF's
//! `import` copies the other VRF's own installed routes (connected, local,
//! static; never routes that VRF imported itself) that lie within the
//! listed prefixes; an Attached target keeps resolving hosts through the
//! neighbor map of its port, whichever VRF looked it up. A tunnel that is
//! down contributes no route ([`Rib::from_config_with`]), so traffic takes
//! whatever route is left.

use crate::config::{
    Config, IfRef, PolicyScope, PolicyTarget, RouteAction, TunnelDf, TunnelFragment,
};
use crate::neighbor::NeighborTable;
use pipeline::fib::{Fib4, NextHop};
use pipeline::policy::{Policies, PolicyAction, PolicyRule};
use pipeline::state::{
    Adj, AdjKind, DfPolicy, FragmentPolicy, IfaceState, TunnelState, ADJ_BLACKHOLE,
    ADJ_FIRST_DYNAMIC, ADJ_LOCAL, ADJ_REJECT,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicU32;
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
    /// Copied from another VRF by an `import`.
    Imported,
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
    /// Into GRE tunnel number `.0` (index into `Config::tunnels`).
    Tunnel(u16),
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
        Rib::from_config_with(cfg, &[])
    }

    /// [`from_config`](Self::from_config) with the tunnels whose index is
    /// in `down` left out: no connected, local or static route through
    /// them.
    pub fn from_config_with(cfg: &Config, down: &[usize]) -> (Rib, Vec<String>) {
        let mut rib = Rib {
            vrfs: vec![BTreeMap::new(); cfg.vrfs.len()],
        };
        let mut warnings = Vec::new();
        let subnets = cfg
            .interfaces
            .iter()
            .enumerate()
            .map(|(port, i)| (i.vrf, &i.addresses, Target::Attached(port as u16)))
            .chain(
                cfg.tunnels
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| !down.contains(t))
                    .map(|(t, tun)| (tun.vrf, &tun.addresses, Target::Tunnel(t as u16))),
            );
        for (vrf, addresses, target) in subnets {
            for a in addresses {
                let ip = u32::from(a.addr);
                let net = ip & mask(a.len);
                rib.add(
                    vrf,
                    Route {
                        prefix: net.into(),
                        len: a.len,
                        source: Source::Connected,
                        distance: 0,
                        target,
                    },
                );
                rib.add(
                    vrf,
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
                        vrf,
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
                RouteAction::Forward => match (r.via, r.interface, r.tunnel) {
                    (_, _, Some(t)) if down.contains(&t) => continue,
                    // A tunnel is point to point: the next hop is its far end.
                    (_, _, Some(t)) => Target::Tunnel(t as u16),
                    (Some(via), Some(port), None) => Target::Gateway(port as u16, via),
                    (None, Some(port), None) => Target::Attached(port as u16),
                    (Some(via), None, None) => {
                        match connected_target(cfg, r.next_hop_vrf, via, down) {
                            Some(t) => t,
                            None => {
                                warnings.push(format!(
                                    "route {}/{} in VRF {}: gateway {} is on no connected subnet of VRF {}; route not installed",
                                    r.prefix,
                                    r.len,
                                    cfg.vrfs[r.vrf].name,
                                    via,
                                    cfg.vrfs[r.next_hop_vrf].name
                                ));
                                continue;
                            }
                        }
                    }
                    (None, None, None) => continue, // rejected by config validation
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
        // Imports, from the routes each VRF has of its own (imports do not
        // chain).
        let own: Vec<Vec<Route>> = (0..rib.vrfs.len())
            .map(|v| rib.best(v).cloned().collect())
            .collect();
        for (vrf, v) in cfg.vrfs.iter().enumerate() {
            for imp in &v.imports {
                for r in own.get(imp.from).into_iter().flatten() {
                    if imp.covers(r.prefix, r.len) {
                        rib.add(
                            vrf,
                            Route {
                                source: Source::Imported,
                                ..r.clone()
                            },
                        );
                    }
                }
            }
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

    /// The best route of the longest prefix of `vrf` holding `addr`.
    pub fn longest_match(&self, vrf: usize, addr: Ipv4Addr) -> Option<&Route> {
        let a = u32::from(addr);
        let table = self.vrfs.get(vrf)?;
        (0..=32u8)
            .rev()
            .find_map(|len| table.get(&(a & mask(len), len)).and_then(|v| v.first()))
    }

    /// Build the FIB of every VRF, resolving targets to adjacency indices
    /// (one pass per table, [`Fib4::from_routes`]). Later changes go into a
    /// clone of the published table ([`Fib4::insert`]/[`Fib4::remove`]
    /// copy only the parts they touch), never into the published one.
    /// `ports` is the number of interfaces (tunnel adjacencies follow
    /// theirs).
    pub fn build_fibs<B>(&self, neighbors: &mut NeighborTable<B>, ports: usize) -> Vec<Arc<Fib4>> {
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
                            Target::Tunnel(t) => tunnel_adj(ports, t),
                        };
                        (r.prefix.into(), r.len, nh)
                    })
                    .collect();
                Arc::new(Fib4::from_routes(routes))
            })
            .collect()
    }
}

/// The policy routing rules of `cfg` as the data plane applies them: one
/// list per interface (ports, then tunnels) with a VRF's rules on each of
/// its interfaces, in file order, and the router's own. Next hops are
/// resolved to adjacencies through `neighbors` (which starts resolving
/// them); a rule whose next hop or tunnel is gone (a tunnel in `down`) is
/// left out.
pub fn policies<B>(cfg: &Config, neighbors: &mut NeighborTable<B>, down: &[usize]) -> Policies {
    let nif = cfg.interfaces.len();
    let mut out = Policies {
        by_iface: vec![Vec::new(); nif + cfg.tunnels.len()],
        local: Vec::new(),
    };
    let vrf_of = |k: usize| match k.checked_sub(nif) {
        None => cfg.interfaces[k].vrf,
        Some(t) => cfg.tunnels[t].vrf,
    };
    for p in &cfg.policies {
        let action = match p.target {
            PolicyTarget::Vrf(v) => PolicyAction::Vrf(v as u16),
            PolicyTarget::Tunnel(t) if down.contains(&t) => continue,
            PolicyTarget::Tunnel(t) => PolicyAction::Adjacency(tunnel_adj(nif, t as u16)),
            PolicyTarget::NextHop { vrf, via } => match connected_target(cfg, vrf, via, down) {
                Some(Target::Gateway(port, ip)) => {
                    PolicyAction::Adjacency(neighbors.gateway_adj(port, ip))
                }
                Some(Target::Tunnel(t)) => PolicyAction::Adjacency(tunnel_adj(nif, t)),
                _ => continue,
            },
        };
        let rule = PolicyRule {
            src: (p.src.0.into(), p.src.1),
            dst: (p.dst.0.into(), p.dst.1),
            protocol: p.protocol,
            src_ports: p.src_ports,
            dst_ports: p.dst_ports,
            dscp: p.dscp,
            action,
        };
        match p.scope {
            PolicyScope::Interface(IfRef::Interface(i)) => out.by_iface[i].push(rule),
            PolicyScope::Interface(IfRef::Tunnel(t)) => out.by_iface[nif + t].push(rule),
            PolicyScope::Vrf(v) => {
                for k in 0..out.by_iface.len() {
                    if vrf_of(k) == v {
                        out.by_iface[k].push(rule);
                    }
                }
            }
            PolicyScope::Local => out.local.push(rule),
        }
    }
    out
}

/// What a gateway `ip` in `vrf` is reached by: the longest connected
/// subnet of `vrf` holding it, an interface's or that of a tunnel not in
/// `down`.
pub fn connected_target(cfg: &Config, vrf: usize, ip: Ipv4Addr, down: &[usize]) -> Option<Target> {
    let ports = cfg
        .interfaces
        .iter()
        .enumerate()
        .filter(|(_, i)| i.vrf == vrf)
        .flat_map(|(p, i)| {
            i.addresses
                .iter()
                .map(move |a| (Target::Gateway(p as u16, ip), a))
        });
    let tunnels = cfg
        .tunnels
        .iter()
        .enumerate()
        .filter(|(t, tun)| tun.vrf == vrf && !down.contains(t))
        .flat_map(|(t, tun)| {
            tun.addresses
                .iter()
                .map(move |a| (Target::Tunnel(t as u16), a))
        });
    ports
        .chain(tunnels)
        .filter(|(_, a)| a.contains(ip))
        .max_by_key(|(_, a)| a.len)
        .map(|(target, _)| target)
}

/// Adjacency index of tunnel `t`, after the `ports` interfaces' ones.
pub fn tunnel_adj(ports: usize, t: u16) -> NextHop {
    ADJ_FIRST_DYNAMIC + ports as NextHop + NextHop::from(t)
}

/// Adjacency index of interface `port`'s connected subnets.
pub fn attached_adj(port: u16) -> NextHop {
    ADJ_FIRST_DYNAMIC + port as NextHop
}

/// Per-interface pipeline state from the config: the ports, then the
/// tunnels (whose MAC, `default_mac` of their index, is what
/// decapsulated frames are addressed to).
pub fn iface_states(cfg: &Config) -> Vec<IfaceState> {
    let ports = cfg.interfaces.iter().map(|i| IfaceState {
        name: i.name.clone(),
        vrf: i.vrf as u16,
        mac: i.mac,
        mtu: i.mtu,
        primary_ip: i.addresses.first().map_or(0, |a| a.addr.into()),
        up: true,
    });
    let tunnels = cfg.tunnels.iter().enumerate().map(|(t, tun)| IfaceState {
        name: tun.name.clone(),
        vrf: tun.vrf as u16,
        mac: crate::config::default_mac(cfg.interfaces.len() + t),
        mtu: tun.mtu,
        primary_ip: tun.addresses.first().map_or(0, |a| a.addr.into()),
        up: true,
    });
    ports.chain(tunnels).collect()
}

/// The tunnels as the data plane sees them (all up; see
/// [`TunnelState::up`]). `seq` are the sequence number counters to keep
/// from a previous build (fresh ones where missing).
pub fn tunnel_states(cfg: &Config, seq: &[Arc<AtomicU32>]) -> Vec<TunnelState> {
    cfg.tunnels
        .iter()
        .enumerate()
        .map(|(t, tun)| TunnelState {
            iface: (cfg.interfaces.len() + t) as u16,
            overlay_vrf: tun.vrf as u16,
            underlay_vrf: tun.underlay_vrf as u16,
            src: tun.source.into(),
            dst: tun.destination.into(),
            key: tun.key,
            checksum: tun.checksum,
            sequence: tun.sequence,
            ttl: tun.ttl,
            df: match tun.df {
                TunnelDf::Copy => DfPolicy::Copy,
                TunnelDf::Set => DfPolicy::Set,
                TunnelDf::Clear => DfPolicy::Clear,
            },
            fragment: match tun.fragment {
                TunnelFragment::Outer => FragmentPolicy::Outer,
                TunnelFragment::Inner => FragmentPolicy::Inner,
            },
            mtu: tun.mtu,
            up: true,
            seq: seq.get(t).cloned().unwrap_or_default(),
            hairpin: None,
        })
        .collect()
}

/// The fixed part of the adjacency table: local, blackhole, reject, one
/// Attached entry per port and one Tunnel entry per tunnel.
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
    for (t, tun) in cfg.tunnels.iter().enumerate() {
        let mut a = Adj::simple(AdjKind::Tunnel);
        a.port = t as u16;
        a.mtu = tun.mtu;
        adj.push(a);
    }
    adj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use std::path::Path;

    const SEED: &str = r#"
[[vrf]]
name = "MAIN"
table = 1
import = [{ vrf = "BGP", prefixes = ["10.20.0.0/16"] }]

[[vrf]]
name = "BGP"
table = 2

[[interface]]
name = "main"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
gen = { dst = "10.2.0.2" }

[[interface]]
name = "bgp"
vrf = "BGP"
addresses = ["10.2.0.1/24"]
gen = { dst = "10.1.0.2" }

[[interface]]
name = "uplink"
addresses = ["198.51.100.1/24", "192.0.2.1/32", "192.0.2.2/32"]
gen = { dst = "198.51.100.2" }

[[tunnel]]
name = "T75"
vrf = "MAIN"
source = "192.0.2.1"
destination = "192.0.2.2"
addresses = ["10.75.0.1/30"]

[[tunnel]]
name = "T76"
vrf = "BGP"
source = "192.0.2.2"
destination = "192.0.2.1"
addresses = ["10.75.0.2/30"]

[[route]]
vrf = "MAIN"
prefix = "10.2.0.0/24"
via = "10.75.0.2"

[[route]]
vrf = "BGP"
prefix = "10.20.0.0/16"
via = "10.2.0.9"

[[route]]
vrf = "BGP"
prefix = "10.30.0.0/16"
via = "10.2.0.9"

[[route]]
vrf = "MAIN"
prefix = "10.40.0.0/16"
via = "10.2.0.7"
next_hop_vrf = "BGP"

[[route]]
vrf = "BGP"
prefix = "10.50.0.0/16"
interface = "T76"
"#;

    fn target(rib: &Rib, vrf: usize, prefix: &str, len: u8) -> Option<(Target, Source)> {
        let p: Ipv4Addr = prefix.parse().unwrap();
        rib.best(vrf)
            .find(|r| r.prefix == p && r.len == len)
            .map(|r| (r.target, r.source))
    }

    #[test]
    fn tunnels_leaking_and_imports_resolve() {
        let cfg = Config::from_str_with(SEED, Path::new("seed.toml"), &Env { cpus: 4 }).unwrap();
        let (rib, warnings) = Rib::from_config(&cfg);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (main, bgp) = (1, 2);
        // The tunnel subnets are connected routes into the tunnels.
        assert_eq!(
            target(&rib, main, "10.75.0.0", 30),
            Some((Target::Tunnel(0), Source::Connected))
        );
        assert_eq!(
            target(&rib, main, "10.75.0.1", 32),
            Some((Target::Local, Source::Local))
        );
        // A gateway on a tunnel subnet: into the tunnel.
        assert_eq!(
            target(&rib, main, "10.2.0.0", 24),
            Some((Target::Tunnel(0), Source::Static))
        );
        assert_eq!(
            target(&rib, bgp, "10.50.0.0", 16),
            Some((Target::Tunnel(1), Source::Static))
        );
        // Leaked: the gateway is BGP's host, on BGP's port.
        assert_eq!(
            target(&rib, main, "10.40.0.0", 16),
            Some((
                Target::Gateway(1, "10.2.0.7".parse().unwrap()),
                Source::Static
            ))
        );
        // Imported: BGP's 10.20/16 only, with BGP's target.
        assert_eq!(
            target(&rib, main, "10.20.0.0", 16),
            Some((
                Target::Gateway(1, "10.2.0.9".parse().unwrap()),
                Source::Imported
            ))
        );
        assert_eq!(target(&rib, main, "10.30.0.0", 16), None);

        // T75 down: its connected and static routes are gone.
        let (rib, _) = Rib::from_config_with(&cfg, &[0]);
        assert_eq!(target(&rib, main, "10.75.0.0", 30), None);
        assert_eq!(target(&rib, main, "10.2.0.0", 24), None);
        assert_eq!(
            target(&rib, bgp, "10.50.0.0", 16),
            Some((Target::Tunnel(1), Source::Static))
        );
    }

    #[test]
    fn policies_land_on_their_interfaces_with_resolved_actions() {
        use crate::neighbor::{NeighborConfig, PortInfo};
        let text = format!(
            "{SEED}
[[policy]]
vrf = \"MAIN\"
tunnel = \"T76\"

[[policy]]
interface = \"bgp\"
next_hop = \"10.2.0.9\"

[[policy]]
local = true
set_vrf = \"BGP\"
"
        );
        let cfg = Config::from_str_with(&text, Path::new("seed.toml"), &Env { cpus: 4 }).unwrap();
        let ports = cfg
            .interfaces
            .iter()
            .map(|i| PortInfo {
                mac: i.mac,
                mtu: i.mtu,
            })
            .collect();
        let first = ADJ_FIRST_DYNAMIC + 5;
        let mut nt: NeighborTable<pmd::Mbuf> =
            NeighborTable::new(ports, first, NeighborConfig::default());
        let p = policies(&cfg, &mut nt, &[]);
        // MAIN's rule on main (port 0) and on T75 (interface 3).
        assert_eq!(p.by_iface.len(), 5);
        for k in [0, 3] {
            assert_eq!(p.by_iface[k].len(), 1, "{k}");
            assert_eq!(
                p.by_iface[k][0].action,
                PolicyAction::Adjacency(tunnel_adj(3, 1))
            );
        }
        // bgp's gateway: a neighbor adjacency of its own.
        let PolicyAction::Adjacency(a) = p.by_iface[1][0].action else {
            panic!("{:?}", p.by_iface[1]);
        };
        assert!(a >= first);
        assert!(p.by_iface[2].is_empty() && p.by_iface[4].is_empty());
        assert_eq!(p.local[0].action, PolicyAction::Vrf(2));
        // T76 down: the rule into it is left out.
        let p = policies(&cfg, &mut nt, &[1]);
        assert!(p.by_iface[0].is_empty());
    }

    #[test]
    fn tunnel_adjacencies_and_interfaces_follow_the_ports() {
        let cfg = Config::from_str_with(SEED, Path::new("seed.toml"), &Env { cpus: 4 }).unwrap();
        let adj = base_adjacencies(&cfg);
        for t in 0..2u16 {
            let a = adj[tunnel_adj(3, t) as usize];
            assert_eq!((a.kind, a.port, a.mtu), (AdjKind::Tunnel, t, 1476));
        }
        let ifaces = iface_states(&cfg);
        assert_eq!(ifaces.len(), 5);
        assert_eq!(ifaces[3].name, "T75");
        assert_eq!(ifaces[3].vrf, 1);
        let tunnels = tunnel_states(&cfg, &[]);
        assert_eq!(tunnels[1].iface, 4);
        assert_eq!(tunnels[1].src, u32::from(Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!((tunnels[1].overlay_vrf, tunnels[1].underlay_vrf), (2, 0));
    }
}
