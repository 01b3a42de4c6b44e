//! The resolved config as text, for `weir check`: workers, then each VRF
//! with its imports, interfaces, tunnels, routes (connected and static)
//! and neighbors, policies, and the control endpoint.
//!
//! The layout is stable (same config, same text) and aligned:
//!
//! ```text
//! config examples/two-vrfs.toml
//! workers
//!   cores         1
//!   control core  0
//!   pool size     16384 buffers
//!
//! dpdk
//!   eal args     --log-level=lib.eal:debug
//!   hugepages    no (--no-huge)
//!   memory       512 MB
//!   file prefix  weir
//!   mbufs        16384 per pool
//!   mbuf cache   256
//!
//! vrf default (table 0)
//!   interface gen0
//!     mac        02:77:65:00:00:01
//!     mtu        1500
//!     addresses  10.1.0.1/24
//!     driver     gen src=10.1.0.2 src_count=1 dst=10.2.0.2 ...
//!   routes
//!     prefix       distance  source     next hop
//!     10.1.0.0/24  0         connected  dev gen0
//!     10.9.0.0/16  1         static     via 10.2.0.2 dev gen1
//!   neighbors
//!     address   mac                interface
//!     10.2.0.2  02:00:00:00:02:02  gen1
//!
//! vrf MAIN (table 1, rd 65000:1)
//!   imports
//!     from  prefixes
//!     BGP   10.20.0.0/16, 0.0.0.0/0
//!   tunnel Tunnel75
//!     underlay vrf  default
//!     source        192.0.2.1 (Vlan2)
//!     destination   192.0.2.2 (this router: Vlan3)
//!     key           75
//!     sequence      no
//!     checksum      no
//!     ttl           255
//!     df            copy
//!     fragment      outer
//!     overhead      28 bytes (20 IPv4 + 4 GRE + 4 key)
//!     mtu           1472 (Vlan2's 1500 - 28)
//!     addresses     10.75.0.1/30
//!     keepalive     every 5 s, down after 3 missed
//!   routes
//!     prefix        distance  source     next hop
//!     0.0.0.0/0     200       static     via 203.0.113.1 dev inet vrf BGP
//!     10.20.0.0/16  1         static     dev Tunnel75
//!     10.75.0.0/30  0         connected  dev Tunnel75
//!
//! control
//!   grpc       127.0.0.1:50051 (default)
//!   unix       none
//!   metrics    http://127.0.0.1:9469/metrics (default)
//!   tls        off
//!   client ca  none
//!   token      none
//! ```

use std::fmt::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};

use super::{
    format_mac, Config, DpdkOptions, Driver, FrameSize, IfRef, ListenAddr, Policy, PolicyScope,
    PolicyTarget, Repeat, RouteAction, TokenSource, Tunnel,
};

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.render(&mut out)?;
        f.write_str(&out)
    }
}

/// Write `rows` with every column but the last padded to its widest cell.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) -> fmt::Result {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                write!(line, "{cell:<w$}  ", w = widths[c])?;
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

impl Config {
    fn render(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "config {}", self.path.display())?;
        writeln!(out, "workers")?;
        let w = &self.workers;
        let cores = w
            .cores
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let control = w
            .control_core
            .map_or_else(|| "unpinned".to_owned(), |c| c.to_string());
        table(
            out,
            "  ",
            &[
                row(["cores", &cores]),
                row(["control core", &control]),
                row(["pool size", &format!("{} buffers", w.pool_size)]),
            ],
        )?;

        // The EAL's options: from `[dpdk]`, or the defaults when only the
        // interfaces use DPDK.
        if self.dpdk.is_some() || self.uses_dpdk() {
            let defaults = DpdkOptions::default();
            let d = self.dpdk.as_ref().unwrap_or(&defaults);
            writeln!(out)?;
            writeln!(out, "dpdk")?;
            let args = if d.args.is_empty() {
                "none".to_owned()
            } else {
                d.args
                    .iter()
                    .map(|a| shell_word(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mbufs = match d.mbufs {
                Some(n) => format!("{n} per pool"),
                None => format!("{} per pool (pool size)", self.dpdk_mbufs()),
            };
            let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".to_owned());
            table(
                out,
                "  ",
                &[
                    row(["eal args", &args]),
                    row([
                        "hugepages",
                        if d.no_huge { "no (--no-huge)" } else { "yes" },
                    ]),
                    row([
                        "memory",
                        &or_default(d.memory_mb.map(|m| format!("{m} MB"))),
                    ]),
                    row(["file prefix", &or_default(d.file_prefix.clone())]),
                    row(["mbufs", &mbufs]),
                    row([
                        "mbuf cache",
                        &or_default(d.mbuf_cache.map(|c| c.to_string())),
                    ]),
                ],
            )?;
        }

        // Everything grouped by VRF, in file order.
        let n = self.vrfs.len();
        let mut ifaces_of = vec![Vec::new(); n];
        let mut tunnels_of = vec![Vec::new(); n];
        let mut connected_of = vec![Vec::new(); n];
        let mut routes_of = vec![Vec::new(); n];
        let mut neighbors_of = vec![Vec::new(); n];
        for iface in &self.interfaces {
            ifaces_of[iface.vrf].push(iface);
        }
        for (t, tun) in self.tunnels.iter().enumerate() {
            tunnels_of[tun.vrf].push(tun);
            for a in &tun.addresses {
                connected_of[tun.vrf].push((a.network(), a.len, IfRef::Tunnel(t)));
            }
        }
        for c in self.connected_routes() {
            connected_of[c.vrf].push((c.prefix, c.len, IfRef::Interface(c.interface)));
        }
        for r in &self.routes {
            routes_of[r.vrf].push(r);
        }
        for nb in &self.neighbors {
            neighbors_of[self.interfaces[nb.interface].vrf].push(nb);
        }

        for (v, vrf) in self.vrfs.iter().enumerate() {
            writeln!(out)?;
            write!(out, "vrf {} (table {}", vrf.name, vrf.table)?;
            if let Some(rd) = &vrf.rd {
                write!(out, ", rd {rd}")?;
            }
            writeln!(out, ")")?;
            let mut empty = true;

            if !vrf.imports.is_empty() {
                empty = false;
                writeln!(out, "  imports")?;
                let mut rows = vec![row(["from", "prefixes"])];
                for im in &vrf.imports {
                    let prefixes = im
                        .prefixes
                        .iter()
                        .map(|(p, l)| format!("{p}/{l}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    rows.push(row([&self.vrfs[im.from].name, &prefixes]));
                }
                table(out, "    ", &rows)?;
            }

            for iface in &ifaces_of[v] {
                empty = false;
                writeln!(out, "  interface {}", iface.name)?;
                let addresses = if iface.addresses.is_empty() {
                    "none".to_owned()
                } else {
                    iface
                        .addresses
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                table(
                    out,
                    "    ",
                    &[
                        row(["mac", &format_mac(&iface.mac)]),
                        row(["mtu", &iface.mtu.to_string()]),
                        row(["addresses", &addresses]),
                        row(["driver", &self.driver_text(&iface.driver)]),
                    ],
                )?;
            }

            for tun in &tunnels_of[v] {
                empty = false;
                writeln!(out, "  tunnel {}", tun.name)?;
                table(out, "    ", &self.tunnel_rows(tun))?;
            }

            // Routes: connected and static, sorted by prefix, then length,
            // then distance.
            let mut routes: Vec<(u32, u8, u8, Vec<String>)> = Vec::new();
            for &(prefix, len, on) in &connected_of[v] {
                routes.push((
                    u32::from(prefix),
                    len,
                    0,
                    row([
                        &format!("{prefix}/{len}"),
                        "0",
                        "connected",
                        &format!("dev {}", self.if_name(on)),
                    ]),
                ));
            }
            for r in &routes_of[v] {
                let target = match r.action {
                    RouteAction::Forward => {
                        let mut t = Vec::new();
                        if let Some(via) = r.via {
                            t.push(format!("via {via}"));
                        }
                        if let Some(i) = r.interface {
                            t.push(format!("dev {}", self.interfaces[i].name));
                        }
                        if let Some(i) = r.tunnel {
                            t.push(format!("dev {}", self.tunnels[i].name));
                        }
                        if r.next_hop_vrf != r.vrf {
                            t.push(format!("vrf {}", self.vrfs[r.next_hop_vrf].name));
                        }
                        t.join(" ")
                    }
                    other => other.to_string(),
                };
                routes.push((
                    u32::from(r.prefix),
                    r.len,
                    r.distance,
                    row([
                        &format!("{}/{}", r.prefix, r.len),
                        &r.distance.to_string(),
                        "static",
                        &target,
                    ]),
                ));
            }
            if !routes.is_empty() {
                empty = false;
                routes.sort_by_key(|&(p, l, d, _)| (p, l, d));
                writeln!(out, "  routes")?;
                let mut rows = vec![row(["prefix", "distance", "source", "next hop"])];
                rows.extend(routes.into_iter().map(|r| r.3));
                table(out, "    ", &rows)?;
            }

            let mut neighbors: Vec<(Ipv4Addr, Vec<String>)> = neighbors_of[v]
                .iter()
                .map(|n| {
                    (
                        n.address,
                        row([
                            &n.address.to_string(),
                            &format_mac(&n.mac),
                            &self.interfaces[n.interface].name,
                        ]),
                    )
                })
                .collect();
            if !neighbors.is_empty() {
                empty = false;
                neighbors.sort_by_key(|n| n.0);
                writeln!(out, "  neighbors")?;
                let mut rows = vec![row(["address", "mac", "interface"])];
                rows.extend(neighbors.into_iter().map(|n| n.1));
                table(out, "    ", &rows)?;
            }

            if empty {
                writeln!(out, "  (empty)")?;
            }
        }
        if !self.policies.is_empty() {
            writeln!(out)?;
            writeln!(out, "policies (in order; the first match decides)")?;
            let mut rows = vec![row(["#", "applies to", "match", "then"])];
            for (i, p) in self.policies.iter().enumerate() {
                rows.push(vec![
                    (i + 1).to_string(),
                    self.policy_scope(p),
                    policy_match(p),
                    self.policy_target(p),
                ]);
            }
            table(out, "  ", &rows)?;
        }
        writeln!(out)?;
        writeln!(out, "control")?;
        table(out, "  ", &self.endpoint_rows())?;
        Ok(())
    }

    /// The rows of `[control]`, defaults included; secrets are not shown.
    fn endpoint_rows(&self) -> Vec<Vec<String>> {
        let e = &self.endpoint;
        let addr = |a: Option<ListenAddr>, url: &dyn Fn(SocketAddr) -> String| match a {
            None => "off".to_owned(),
            Some(a) if a.explicit => url(a.addr),
            Some(a) => format!("{} (default)", url(a.addr)),
        };
        let scheme = if e.tls.is_some() { "https" } else { "http" };
        let (tls, client_ca) = match &e.tls {
            None => ("off".to_owned(), "none".to_owned()),
            Some(t) => (
                format!("cert {}, key {}", t.cert.display(), t.key.display()),
                t.client_ca.as_ref().map_or_else(
                    || "none (client certificates not asked for)".to_owned(),
                    |ca| format!("{} (client certificates required)", ca.display()),
                ),
            ),
        };
        let token = match &e.token {
            None => "none".to_owned(),
            Some(t) => match &t.source {
                TokenSource::File(p) => format!("from {}", p.display()),
                TokenSource::Inline => "inline".to_owned(),
            },
        };
        vec![
            row(["grpc", &addr(e.listen, &|a| a.to_string())]),
            row([
                "unix",
                &e.unix
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
            ]),
            row([
                "metrics",
                &addr(e.metrics, &|a| format!("{scheme}://{a}/metrics")),
            ]),
            row(["tls", &tls]),
            row(["client ca", &client_ca]),
            row(["token", &token]),
        ]
    }

    fn policy_scope(&self, p: &Policy) -> String {
        match p.scope {
            PolicyScope::Interface(r) => format!("in on {}", self.if_name(r)),
            PolicyScope::Vrf(v) => format!("in VRF {}", self.vrfs[v].name),
            PolicyScope::Local => "the router's own".into(),
        }
    }

    fn policy_target(&self, p: &Policy) -> String {
        match p.target {
            PolicyTarget::NextHop { vrf, via } => {
                format!("via {via} (VRF {})", self.vrfs[vrf].name)
            }
            PolicyTarget::Vrf(v) => format!("route in VRF {}", self.vrfs[v].name),
            PolicyTarget::Tunnel(t) => format!("into {}", self.tunnels[t].name),
        }
    }

    /// The rows of a tunnel: every option, defaults included, and the
    /// effective MTU with where it comes from.
    fn tunnel_rows(&self, tun: &Tunnel) -> Vec<Vec<String>> {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let under = tun.underlay_vrf;
        // The hairpin: a destination that is one of the router's own
        // addresses in the underlay VRF.
        let local = self
            .interfaces
            .iter()
            .filter(|i| i.vrf == under)
            .map(|i| (&i.name, &i.addresses))
            .chain(
                self.tunnels
                    .iter()
                    .filter(|t| t.vrf == under)
                    .map(|t| (&t.name, &t.addresses)),
            )
            .find(|(_, addrs)| addrs.iter().any(|a| a.addr == tun.destination))
            .map(|(name, _)| name);
        let destination = match local {
            Some(name) => format!("{} (this router: {name})", tun.destination),
            None => tun.destination.to_string(),
        };
        let on = self.if_name(tun.source_on);
        let overhead = tun.overhead();
        let max = self.if_mtu(tun.source_on).saturating_sub(overhead);
        let mtu = if tun.mtu == max {
            format!("{} ({on}'s {} - {overhead})", tun.mtu, max + overhead)
        } else {
            format!("{} (at most {max})", tun.mtu)
        };
        let addresses = if tun.addresses.is_empty() {
            "none".to_owned()
        } else {
            tun.addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let keepalive = tun.keepalive.map_or_else(
            || "off".to_owned(),
            |k| format!("every {} s, down after {} missed", k.interval, k.retries),
        );
        vec![
            row(["underlay vrf", &self.vrfs[under].name]),
            row(["source", &format!("{} ({on})", tun.source)]),
            row(["destination", &destination]),
            row([
                "key",
                &tun.key.map_or_else(|| "none".to_owned(), |k| k.to_string()),
            ]),
            row(["sequence", yes_no(tun.sequence)]),
            row(["checksum", yes_no(tun.checksum)]),
            row(["ttl", &tun.ttl.to_string()]),
            row(["df", tun.df.as_str()]),
            row(["fragment", tun.fragment.as_str()]),
            row([
                "overhead",
                &format!("{overhead} bytes ({})", tun.overhead_parts()),
            ]),
            row(["mtu", &mtu]),
            row(["addresses", &addresses]),
            row(["keepalive", &keepalive]),
        ]
    }

    /// `gen src=... dst=...`: the driver and all its options, defaults
    /// included, named as in the config.
    fn driver_text(&self, d: &Driver) -> String {
        let opt = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.to_owned());
        match d {
            Driver::Gen(g) => format!(
                "gen src={} src_count={} dst={} dst_count={} src_port={} \
                    src_port_count={} dst_port={} dst_port_count={} frame_size={} rate={} \
                    vlan={} count={} arp_reply={}",
                g.src,
                g.src_count,
                g.dst,
                g.dst_count,
                g.src_port,
                g.src_port_count,
                g.dst_port,
                g.dst_port_count,
                match g.frame_size {
                    FrameSize::Fixed(n) => n.to_string(),
                    FrameSize::Imix => "imix".to_owned(),
                },
                opt(g.rate_pps.map(|r| format!("{r}pps")), "line"),
                opt(g.vlan.map(|v| v.to_string()), "none"),
                opt(g.count.map(|c| c.to_string()), "unlimited"),
                g.arp_reply,
            ),
            Driver::Mem(m) => format!(
                "mem link={} ring={} peer={}",
                m.link,
                m.ring,
                opt(m.peer.map(|p| self.interfaces[p].name.clone()), "external"),
            ),
            Driver::Pcap(p) => format!(
                "pcap rx={} tx={} repeat={} deterministic={}",
                opt(p.rx.as_ref().map(|r| r.display().to_string()), "none"),
                opt(p.tx.as_ref().map(|t| t.display().to_string()), "none"),
                match p.repeat {
                    Repeat::Times(n) => n.to_string(),
                    Repeat::Forever => "forever".to_owned(),
                },
                p.deterministic,
            ),
            Driver::AfPacket(a) => format!(
                "af_packet iface={} queues={} fanout_group={} promisc={}",
                a.iface,
                opt(a.queues.map(|q| q.to_string()), "per-worker"),
                opt(a.fanout_group.map(|g| g.to_string()), "auto"),
                a.promisc,
            ),
            Driver::Dpdk(d) => format!(
                "dpdk device={} rx_desc={} tx_desc={} promisc={}",
                shell_word(&d.device),
                d.rx_desc,
                d.tx_desc,
                d.promisc,
            ),
        }
    }
}

/// `s` as is, or in double quotes if it is empty or has spaces, quotes or
/// backslashes (so a list of EAL arguments reads unambiguously).
/// A policy's conditions, e.g. `udp 10.1.0.0/24 -> any dport 5001`.
fn policy_match(p: &Policy) -> String {
    let pfx = |(a, l): (Ipv4Addr, u8)| {
        if l == 0 {
            "any".to_owned()
        } else {
            format!("{a}/{l}")
        }
    };
    let mut s = String::new();
    if let Some(proto) = p.protocol {
        s.push_str(match proto {
            1 => "icmp ",
            6 => "tcp ",
            17 => "udp ",
            47 => "gre ",
            _ => "",
        });
        if !matches!(proto, 1 | 6 | 17 | 47) {
            s.push_str(&format!("proto {proto} "));
        }
    }
    s.push_str(&format!("{} -> {}", pfx(p.src), pfx(p.dst)));
    let range = |(lo, hi): (u16, u16)| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        }
    };
    if let Some(r) = p.src_ports {
        s.push_str(&format!(" sport {}", range(r)));
    }
    if let Some(r) = p.dst_ports {
        s.push_str(&format!(" dport {}", range(r)));
    }
    if let Some(d) = p.dscp {
        s.push_str(&format!(" dscp {d}"));
    }
    s
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'))
    {
        return s.to_owned();
    }
    let mut q = String::from('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}
