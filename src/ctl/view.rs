//! How each reply prints: a human table, or JSON (`--json`).
//!
//! JSON is written by hand from the proto messages, with the proto's field
//! names; 64-bit counters are JSON numbers, absent optional fields `null`.

use super::table::{duration_ns, list, thousands, Col, Table};
use ctrl::api::proto::{
    Counters, Interface, InterfaceList, LookupReply, NeighborList, PortCounters, Route, RouteList,
    TunnelList, VrfList, WorkerCounters, WorkerList,
};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A reply as the user sees it.
pub trait View {
    /// Human text: aligned tables, ending with a newline.
    fn human(&self) -> String;
    /// Machine-readable JSON.
    fn json(&self) -> Value;
}

/// Prints a reply to stdout, as JSON (pretty) or as text.
pub fn print(view: &dyn View, json: bool) {
    if json {
        print_json(&view.json());
    } else {
        print!("{}", view.human());
    }
}

/// Prints a JSON value to stdout, pretty, on its own lines.
pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    );
}

/// `true`/`false` as a short cell.
fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// A string map as a JSON object (sorted by key).
pub fn map_json(m: &HashMap<String, u64>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

/// Port counters as JSON.
pub fn port_counters_json(c: &PortCounters) -> Value {
    json!({
        "rx_packets": c.rx_packets, "rx_bytes": c.rx_bytes,
        "tx_packets": c.tx_packets, "tx_bytes": c.tx_bytes,
        "rx_missed": c.rx_missed, "rx_errors": c.rx_errors, "tx_dropped": c.tx_dropped,
    })
}

/// Worker counters as JSON.
pub fn worker_counters_json(c: &WorkerCounters) -> Value {
    json!({
        "rx_packets": c.rx_packets, "forwarded": c.forwarded, "local": c.local,
        "punted": c.punted, "injected": c.injected, "dropped": c.dropped,
        "bursts": c.bursts, "icmp_errors": c.icmp_errors,
        "stalls": c.stalls, "stalled_ns": c.stalled_ns,
        "longest_stall_ns": c.longest_stall_ns,
        "stalled_off_cpu_ns": c.stalled_off_cpu_ns,
    })
}

fn interface_json(i: &Interface) -> Value {
    json!({
        "name": i.name, "kind": i.kind, "driver": i.driver, "state": i.state,
        "mac": i.mac, "mtu": i.mtu, "vrf": i.vrf, "addresses": i.addresses,
        "queues": i.queues,
        "counters": port_counters_json(&i.counters.unwrap_or_default()),
    })
}

impl View for InterfaceList {
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::L("NAME"),
            Col::L("KIND"),
            Col::L("DRIVER"),
            Col::L("STATE"),
            Col::L("MAC"),
            Col::R("MTU"),
            Col::L("VRF"),
            Col::L("ADDRESSES"),
            Col::R("RX-PACKETS"),
            Col::R("TX-PACKETS"),
            Col::R("RX-MISSED"),
            Col::R("TX-DROPPED"),
        ]);
        for i in &self.interfaces {
            let c = i.counters.unwrap_or_default();
            t.row([
                i.name.clone(),
                i.kind.clone(),
                i.driver.clone(),
                i.state.clone(),
                i.mac.clone(),
                i.mtu.to_string(),
                i.vrf.clone(),
                list(&i.addresses),
                thousands(c.rx_packets),
                thousands(c.tx_packets),
                thousands(c.rx_missed),
                thousands(c.tx_dropped),
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        json!({ "interfaces": self.interfaces.iter().map(interface_json).collect::<Vec<_>>() })
    }
}

impl View for VrfList {
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::L("NAME"),
            Col::R("TABLE"),
            Col::L("RD"),
            Col::R("ROUTES"),
            Col::R("FIB"),
            Col::L("INTERFACES"),
            Col::L("IMPORTS"),
        ]);
        for v in &self.vrfs {
            t.row([
                v.name.clone(),
                v.table.to_string(),
                v.rd.clone(),
                thousands(v.routes),
                thousands(v.fib_prefixes),
                list(&v.interfaces),
                list(&v.imports),
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        let vrfs: Vec<Value> = self
            .vrfs
            .iter()
            .map(|v| {
                json!({
                    "name": v.name, "table": v.table, "rd": v.rd,
                    "interfaces": v.interfaces, "routes": v.routes,
                    "fib_prefixes": v.fib_prefixes, "imports": v.imports,
                })
            })
            .collect();
        json!({ "vrfs": vrfs })
    }
}

fn route_json(r: &Route) -> Value {
    json!({
        "vrf": r.vrf, "prefix": r.prefix, "source": r.source, "distance": r.distance,
        "best": r.best, "via": r.via, "interface": r.interface,
        "next_hop_vrf": r.next_hop_vrf, "action": r.action,
    })
}

/// The next hop: `10.0.0.2`, `10.0.0.2 (vrf BGP)` when leaked.
fn via(r: &Route) -> String {
    if r.next_hop_vrf.is_empty() || r.next_hop_vrf == r.vrf {
        r.via.clone()
    } else if r.via.is_empty() {
        format!("(vrf {})", r.next_hop_vrf)
    } else {
        format!("{} (vrf {})", r.via, r.next_hop_vrf)
    }
}

impl View for RouteList {
    /// As birdc does: `*` marks the route in use for its prefix.
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::L(" "),
            Col::L("VRF"),
            Col::L("PREFIX"),
            Col::L("VIA"),
            Col::L("INTERFACE"),
            Col::L("SOURCE"),
            Col::R("DIST"),
            Col::L("ACTION"),
        ]);
        for r in &self.routes {
            t.row([
                if r.best { "*" } else { " " }.to_string(),
                r.vrf.clone(),
                r.prefix.clone(),
                via(r),
                r.interface.clone(),
                r.source.clone(),
                r.distance.to_string(),
                r.action.clone(),
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        json!({ "routes": self.routes.iter().map(route_json).collect::<Vec<_>>() })
    }
}

/// A route lookup with its question (the reply does not repeat it).
pub struct Lookup {
    /// The address looked up.
    pub address: String,
    /// The VRF it was looked up in.
    pub vrf: String,
    /// The router's answer.
    pub reply: LookupReply,
}

impl View for Lookup {
    fn human(&self) -> String {
        let Lookup {
            address,
            vrf,
            reply,
        } = self;
        match (&reply.route, reply.found) {
            (Some(r), true) => {
                let mut route = vec![r.prefix.clone()];
                let via = via(r);
                if !via.is_empty() {
                    route.push(format!("via {via}"));
                }
                if !r.interface.is_empty() {
                    route.push(format!("dev {}", r.interface));
                }
                format!(
                    "{address} in VRF {vrf}: {} ({}, distance {}, {})\nforwarding: {}\n",
                    route.join(" "),
                    r.source,
                    r.distance,
                    r.action,
                    reply.forwarding
                )
            }
            _ => format!("{address} in VRF {vrf}: no route\n"),
        }
    }

    fn json(&self) -> Value {
        json!({
            "address": self.address, "vrf": self.vrf, "found": self.reply.found,
            "route": self.reply.route.as_ref().map(route_json),
            "forwarding": self.reply.forwarding,
        })
    }
}

impl View for NeighborList {
    /// As `ip neigh`: unresolved entries have no MAC.
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::L("INTERFACE"),
            Col::L("ADDRESS"),
            Col::L("MAC"),
            Col::L("STATE"),
            Col::L("GATEWAY"),
            Col::R("HELD"),
        ]);
        for n in &self.neighbors {
            t.row([
                n.interface.clone(),
                n.address.clone(),
                n.mac.clone(),
                n.state.clone(),
                yes(n.gateway).into(),
                n.held.to_string(),
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        let ns: Vec<Value> = self
            .neighbors
            .iter()
            .map(|n| {
                json!({
                    "interface": n.interface, "address": n.address, "mac": n.mac,
                    "state": n.state, "gateway": n.gateway, "held": n.held,
                })
            })
            .collect();
        json!({ "neighbors": ns })
    }
}

impl View for TunnelList {
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::L("NAME"),
            Col::L("STATE"),
            Col::L("VRF"),
            Col::L("UNDERLAY"),
            Col::L("SOURCE"),
            Col::L("DESTINATION"),
            Col::R("KEY"),
            Col::R("MTU"),
            Col::L("KEEPALIVE"),
            Col::L("HAIRPIN"),
            Col::L("ADDRESSES"),
        ]);
        for u in &self.tunnels {
            let keepalive = if u.keepalive_interval == 0 {
                "off".to_string()
            } else {
                format!("{}s x{}", u.keepalive_interval, u.keepalive_retries)
            };
            t.row([
                u.name.clone(),
                u.state.clone(),
                u.vrf.clone(),
                u.underlay_vrf.clone(),
                u.source.clone(),
                u.destination.clone(),
                u.key.map(|k| k.to_string()).unwrap_or_default(),
                u.mtu.to_string(),
                keepalive,
                yes(u.hairpin).into(),
                list(&u.addresses),
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        let ts: Vec<Value> = self
            .tunnels
            .iter()
            .map(|u| {
                json!({
                    "name": u.name, "vrf": u.vrf, "underlay_vrf": u.underlay_vrf,
                    "source": u.source, "destination": u.destination, "key": u.key,
                    "mtu": u.mtu, "state": u.state,
                    "keepalive_interval": u.keepalive_interval,
                    "keepalive_retries": u.keepalive_retries,
                    "hairpin": u.hairpin, "addresses": u.addresses,
                })
            })
            .collect();
        json!({ "tunnels": ts })
    }
}

impl View for WorkerList {
    fn human(&self) -> String {
        let mut t = Table::new(&[
            Col::R("ID"),
            Col::R("CORE"),
            Col::L("QUEUES"),
            Col::R("GENERATION"),
            Col::R("RX-PACKETS"),
            Col::R("FORWARDED"),
            Col::R("DROPPED"),
            Col::R("STALLS"),
            Col::R("LONGEST-MS"),
            Col::R("OFF-CPU"),
        ]);
        for w in &self.workers {
            let c = w.counters.unwrap_or_default();
            t.row([
                w.id.to_string(),
                w.core.map(|c| c.to_string()).unwrap_or_default(),
                list(&w.queues),
                w.generation.to_string(),
                thousands(c.rx_packets),
                thousands(c.forwarded),
                thousands(c.dropped),
                thousands(c.stalls),
                format!("{:.2}", c.longest_stall_ns as f64 / 1e6),
                if c.stalled_ns == 0 {
                    "-".to_string()
                } else {
                    format!(
                        "{:.0}%",
                        100.0 * c.stalled_off_cpu_ns as f64 / c.stalled_ns as f64
                    )
                },
            ]);
        }
        t.to_string()
    }

    fn json(&self) -> Value {
        let ws: Vec<Value> = self
            .workers
            .iter()
            .map(|w| {
                json!({
                    "id": w.id, "core": w.core, "queues": w.queues,
                    "generation": w.generation,
                    "counters": worker_counters_json(&w.counters.unwrap_or_default()),
                })
            })
            .collect();
        json!({ "workers": ws })
    }
}

/// A name → count map as a two-column table, sorted by name.
fn map_table(header: &'static str, m: &HashMap<String, u64>) -> String {
    let mut t = Table::new(&[Col::L(header), Col::R("COUNT")]);
    let mut rows: Vec<_> = m.iter().collect();
    rows.sort();
    for (k, v) in rows {
        t.row([k.clone(), thousands(*v)]);
    }
    t.to_string()
}

impl View for Counters {
    fn human(&self) -> String {
        let mut ports = Table::new(&[
            Col::L("PORT"),
            Col::R("RX-PACKETS"),
            Col::R("RX-BYTES"),
            Col::R("TX-PACKETS"),
            Col::R("TX-BYTES"),
            Col::R("RX-MISSED"),
            Col::R("RX-ERRORS"),
            Col::R("TX-DROPPED"),
        ]);
        for p in &self.ports {
            let c = p.counters.unwrap_or_default();
            let mut row = vec![p.name.clone()];
            row.extend(
                [
                    c.rx_packets,
                    c.rx_bytes,
                    c.tx_packets,
                    c.tx_bytes,
                    c.rx_missed,
                    c.rx_errors,
                    c.tx_dropped,
                ]
                .map(thousands),
            );
            ports.row(row);
        }
        let mut workers = Table::new(&[
            Col::R("WORKER"),
            Col::R("RX-PACKETS"),
            Col::R("FORWARDED"),
            Col::R("LOCAL"),
            Col::R("PUNTED"),
            Col::R("INJECTED"),
            Col::R("DROPPED"),
            Col::R("BURSTS"),
            Col::R("ICMP-ERRORS"),
        ]);
        for w in &self.workers {
            let c = w.counters.unwrap_or_default();
            let mut row = vec![w.id.to_string()];
            row.extend(
                [
                    c.rx_packets,
                    c.forwarded,
                    c.local,
                    c.punted,
                    c.injected,
                    c.dropped,
                    c.bursts,
                    c.icmp_errors,
                ]
                .map(thousands),
            );
            workers.row(row);
        }
        format!(
            "uptime {}, snapshot generation {}\n\n{ports}\n{workers}\n{}\n{}",
            duration_ns(self.uptime_ns),
            self.generation,
            map_table("DROP-REASON", &self.drops),
            map_table("CONTROL", &self.control),
        )
    }

    fn json(&self) -> Value {
        let ports: Vec<Value> = self
            .ports
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "counters": port_counters_json(&p.counters.unwrap_or_default()),
                })
            })
            .collect();
        let workers: Vec<Value> = self
            .workers
            .iter()
            .map(|w| {
                json!({
                    "id": w.id,
                    "counters": worker_counters_json(&w.counters.unwrap_or_default()),
                    "drops": map_json(&w.drops),
                })
            })
            .collect();
        json!({
            "uptime_ns": self.uptime_ns, "generation": self.generation,
            "ports": ports, "workers": workers,
            "drops": map_json(&self.drops), "control": map_json(&self.control),
        })
    }
}
