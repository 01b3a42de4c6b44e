//! The control state as the endpoint's messages: what `show` answers.
//!
//! Each function runs on the control thread (inside a [`Job`]) or reads
//! only shared counters, so it sees one consistent state.
//!
//! [`Job`]: crate::control::Job

use super::proto;
use crate::config::{format_mac, Config};
use crate::control::Control;
use crate::rib::{Route, Source, Target};
use crate::router::Stats;
use pipeline::capture::Prefix;
use pipeline::state::{AdjKind, Snapshot};
use pipeline::DropReason;
use pmd::{Pool, PortCounters};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Instant;

fn port_counters(c: &PortCounters) -> proto::PortCounters {
    proto::PortCounters {
        rx_packets: c.rx_packets,
        rx_bytes: c.rx_bytes,
        tx_packets: c.tx_packets,
        tx_bytes: c.tx_bytes,
        rx_missed: c.rx_missed,
        rx_errors: c.rx_errors,
        tx_dropped: c.tx_dropped,
    }
}

/// Interfaces: ports, then tunnels.
pub fn interfaces<P: Pool>(c: &Control<P>, stats: &Stats) -> proto::InterfaceList {
    let cfg = &c.cfg;
    let views = stats.ports();
    let mut out = Vec::new();
    for (i, itf) in cfg.interfaces.iter().enumerate() {
        let view = views.get(i).filter(|v| v.name == itf.name);
        out.push(proto::Interface {
            name: itf.name.clone(),
            kind: "port".into(),
            driver: itf.driver.kind().into(),
            state: "up".into(),
            mac: format_mac(&itf.mac),
            mtu: itf.mtu.into(),
            vrf: cfg.vrfs[itf.vrf].name.clone(),
            addresses: itf.addresses.iter().map(|a| a.to_string()).collect(),
            counters: view.map(|v| port_counters(&v.counters())),
            queues: view.map_or(0, |v| v.queues.len() as u32),
        });
    }
    for (t, tun) in cfg.tunnels.iter().enumerate() {
        let up = c.tunnels.get(t).is_some_and(|s| s.up);
        out.push(proto::Interface {
            name: tun.name.clone(),
            kind: "tunnel".into(),
            driver: "gre".into(),
            state: if up { "up" } else { "down" }.into(),
            mac: format_mac(&crate::config::default_mac(cfg.interfaces.len() + t)),
            mtu: tun.mtu.into(),
            vrf: cfg.vrfs[tun.vrf].name.clone(),
            addresses: tun.addresses.iter().map(|a| a.to_string()).collect(),
            counters: None,
            queues: 0,
        });
    }
    proto::InterfaceList { interfaces: out }
}

/// VRFs with route counts.
pub fn vrfs<P: Pool>(c: &Control<P>) -> proto::VrfList {
    let cfg = &c.cfg;
    let vrfs = cfg
        .vrfs
        .iter()
        .enumerate()
        .map(|(v, vrf)| {
            let mut interfaces: Vec<String> = cfg
                .interfaces
                .iter()
                .filter(|i| i.vrf == v)
                .map(|i| i.name.clone())
                .collect();
            interfaces.extend(
                cfg.tunnels
                    .iter()
                    .filter(|t| t.vrf == v)
                    .map(|t| t.name.clone()),
            );
            proto::Vrf {
                name: vrf.name.clone(),
                table: vrf.table,
                rd: vrf.rd.as_ref().map_or(String::new(), |r| r.to_string()),
                interfaces,
                routes: c
                    .rib
                    .vrfs
                    .get(v)
                    .map_or(0, |m| m.values().map(Vec::len).sum()) as u64,
                fib_prefixes: c.fibs.get(v).map_or(0, |f| f.len()) as u64,
                imports: vrf
                    .imports
                    .iter()
                    .map(|i| cfg.vrfs[i.from].name.clone())
                    .collect(),
            }
        })
        .collect();
    proto::VrfList { vrfs }
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Local => "local",
        Source::Connected => "connected",
        Source::Static => "static",
        Source::Imported => "import",
    }
}

/// The name of port or tunnel interface `i` (ports first).
fn if_name(cfg: &Config, port: usize) -> String {
    cfg.interfaces
        .get(port)
        .map(|i| i.name.clone())
        .unwrap_or_default()
}

/// One RIB route as a message.
pub fn route(cfg: &Config, vrf: usize, r: &Route, best: bool) -> proto::Route {
    let (via, interface, action) = match r.target {
        Target::Local => (String::new(), String::new(), "local"),
        Target::Attached(p) => (String::new(), if_name(cfg, p.into()), "forward"),
        Target::Gateway(p, ip) => (ip.to_string(), if_name(cfg, p.into()), "forward"),
        Target::Blackhole => (String::new(), String::new(), "blackhole"),
        Target::Reject => (String::new(), String::new(), "reject"),
        Target::Broadcast => (String::new(), String::new(), "broadcast"),
        Target::Tunnel(t) => (
            String::new(),
            cfg.tunnels
                .get(usize::from(t))
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            "tunnel",
        ),
    };
    let next_hop_vrf = match r.target {
        Target::Attached(p) | Target::Gateway(p, _) => cfg
            .interfaces
            .get(usize::from(p))
            .filter(|i| i.vrf != vrf)
            .map(|i| cfg.vrfs[i.vrf].name.clone()),
        Target::Tunnel(t) => cfg
            .tunnels
            .get(usize::from(t))
            .filter(|t| t.vrf != vrf)
            .map(|t| cfg.vrfs[t.vrf].name.clone()),
        _ => None,
    };
    proto::Route {
        vrf: cfg.vrfs[vrf].name.clone(),
        prefix: format!("{}/{}", r.prefix, r.len),
        source: source_name(r.source).into(),
        distance: r.distance.into(),
        best,
        via,
        interface,
        next_hop_vrf: next_hop_vrf.unwrap_or_default(),
        action: action.into(),
    }
}

/// Routes of `vrf` (all VRFs when `None`) inside `within`.
pub fn routes<P: Pool>(
    c: &Control<P>,
    vrf: Option<usize>,
    within: Option<Prefix>,
) -> proto::RouteList {
    let mut out = Vec::new();
    for (v, table) in c.rib.vrfs.iter().enumerate() {
        if vrf.is_some_and(|x| x != v) {
            continue;
        }
        for (&(prefix, len), cands) in table {
            if within.is_some_and(|w| len < w.len() || !w.contains(prefix)) {
                continue;
            }
            for (k, r) in cands.iter().enumerate() {
                out.push(route(&c.cfg, v, r, k == 0));
            }
        }
    }
    proto::RouteList { routes: out }
}

/// Longest-prefix match of `addr` in `vrf`: the RIB's best route and what
/// the running snapshot does with it.
pub fn lookup<P: Pool>(c: &Control<P>, vrf: usize, addr: Ipv4Addr) -> proto::LookupReply {
    let found = c.rib.longest_match(vrf, addr);
    let snap = c.rcu().load();
    proto::LookupReply {
        found: found.is_some(),
        route: found.map(|r| route(&c.cfg, vrf, r, true)),
        forwarding: forwarding(&c.cfg, &snap, vrf as u16, addr.into()),
    }
}

/// What the data plane does with a packet to `dst` in `vrf`.
fn forwarding(cfg: &Config, snap: &Snapshot, vrf: u16, dst: u32) -> String {
    let Some((_, adj)) = snap.route(vrf, dst) else {
        return "drop (no route)".into();
    };
    let port = if_name(cfg, adj.port.into());
    let mac = |b: &[u8]| format_mac(&[b[0], b[1], b[2], b[3], b[4], b[5]]);
    match adj.kind {
        AdjKind::Forward => format!(
            "forward via {} on {port} ({})",
            Ipv4Addr::from(if adj.ip == 0 { dst } else { adj.ip }),
            mac(&adj.eth[..6])
        ),
        AdjKind::Attached => format!("forward on {port} (connected, neighbor not resolved yet)"),
        AdjKind::Glean => format!(
            "resolve {} on {port} (ARP), then forward",
            Ipv4Addr::from(adj.ip)
        ),
        AdjKind::Incomplete => format!(
            "drop: {} on {port} is being resolved",
            Ipv4Addr::from(adj.ip)
        ),
        AdjKind::Local => "deliver to the router".into(),
        AdjKind::Blackhole => "drop (blackhole)".into(),
        AdjKind::Reject => "drop and answer ICMP unreachable (reject)".into(),
        AdjKind::Tunnel => format!(
            "encapsulate into {} (GRE)",
            cfg.tunnels
                .get(usize::from(adj.port))
                .map_or("?", |t| t.name.as_str())
        ),
    }
}

/// The ARP table, sorted by interface and address.
pub fn neighbors<P: Pool>(c: &Control<P>) -> proto::NeighborList {
    let mut list: Vec<_> = c.neighbors.iter().collect();
    list.sort_by_key(|((port, ip), _)| (*port, *ip));
    let neighbors = list
        .into_iter()
        .map(|((port, ip), e)| proto::Neighbor {
            interface: if_name(&c.cfg, port.into()),
            address: ip.to_string(),
            mac: e.state.mac().map(|m| format_mac(&m)).unwrap_or_default(),
            state: e.state.name().into(),
            gateway: e.gateway,
            held: e.held.len() as u32,
        })
        .collect();
    proto::NeighborList { neighbors }
}

/// GRE tunnels.
pub fn tunnels<P: Pool>(c: &Control<P>) -> proto::TunnelList {
    let cfg = &c.cfg;
    let tunnels = cfg
        .tunnels
        .iter()
        .enumerate()
        .map(|(t, tun)| {
            let state = c.tunnels.get(t);
            proto::Tunnel {
                name: tun.name.clone(),
                vrf: cfg.vrfs[tun.vrf].name.clone(),
                underlay_vrf: cfg.vrfs[tun.underlay_vrf].name.clone(),
                source: tun.source.to_string(),
                destination: tun.destination.to_string(),
                key: tun.key,
                mtu: tun.mtu.into(),
                state: if state.is_some_and(|s| s.up) {
                    "up"
                } else {
                    "down"
                }
                .into(),
                keepalive_interval: tun.keepalive.map_or(0, |k| k.interval.into()),
                keepalive_retries: tun.keepalive.map_or(0, |k| k.retries.into()),
                hairpin: state.is_some_and(|s| s.hairpin.is_some()),
                addresses: tun.addresses.iter().map(|a| a.to_string()).collect(),
            }
        })
        .collect();
    proto::TunnelList { tunnels }
}

fn drops_map(drops: &[u64]) -> HashMap<String, u64> {
    DropReason::ALL
        .iter()
        .zip(drops)
        .filter(|(_, &n)| n > 0)
        .map(|(r, &n)| (r.name().to_string(), n))
        .collect()
}

/// One worker's counters; its rx is what it received on its queue of
/// every port.
fn worker_counters(stats: &Stats, w: usize) -> (proto::WorkerCounters, HashMap<String, u64>) {
    let v = stats.workers[w].read();
    let stalls = stats.workers[w].stalls.totals();
    let rx = stats
        .ports()
        .iter()
        .filter_map(|p| p.queues.get(w))
        .map(|q| q.rx_packets.get())
        .sum();
    let counters = proto::WorkerCounters {
        rx_packets: rx,
        forwarded: v.forwarded,
        local: v.local,
        punted: v.punted,
        injected: v.injected,
        dropped: v.drops.iter().sum(),
        bursts: stats.workers[w].bursts.get(),
        icmp_errors: v.icmp_errors,
        stalls: stalls.count,
        stalled_ns: stalls.total_ns,
        longest_stall_ns: stalls.longest_ns,
        stalled_off_cpu_ns: stalls.off_cpu_ns,
    };
    (counters, drops_map(&v.drops))
}

/// Workers: cores, queues, generation and counters.
pub fn workers(cfg: &Config, stats: &Stats) -> proto::WorkerList {
    let ports = stats.ports();
    let workers = (0..stats.workers.len())
        .map(|w| proto::Worker {
            id: w as u32,
            core: cfg.workers.cores.get(w).map(|&c| c as u32),
            queues: ports.iter().map(|p| format!("{}/{w}", p.name)).collect(),
            generation: stats.workers[w].generation.get(),
            counters: Some(worker_counters(stats, w).0),
        })
        .collect();
    proto::WorkerList { workers }
}

/// Every counter, now.
pub fn counters(stats: &Stats, started: Instant, generation: u64) -> proto::Counters {
    let ports = stats
        .ports()
        .iter()
        .map(|p| proto::PortStat {
            name: p.name.clone(),
            counters: Some(port_counters(&p.counters())),
        })
        .collect();
    let workers = (0..stats.workers.len())
        .map(|w| {
            let (counters, drops) = worker_counters(stats, w);
            proto::WorkerStat {
                id: w as u32,
                counters: Some(counters),
                drops,
            }
        })
        .collect();
    proto::Counters {
        uptime_ns: started.elapsed().as_nanos() as u64,
        generation,
        ports,
        workers,
        drops: drops_map(&stats.pipeline().drops),
        control: stats
            .control
            .values()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}
