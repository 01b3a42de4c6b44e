//! Opening the ports a config names, one queue per worker.

use crate::config::{Config, Driver, FrameSize, Interface, Repeat};
use anyhow::{bail, Context, Result};
use pmd::any_port::AnyPort;
use pmd::drivers::gen::{self, GenConfig, GenStats, IpRange, PortRange};
use pmd::drivers::mem::{self, MemPort};
use pmd::drivers::{af_packet, pcap};
use pmd::{Pool, PortCounters, QueueStats};
use std::collections::HashMap;
use std::sync::Arc;

/// A read-only view of one port's counters.
#[derive(Clone)]
pub struct PortView {
    /// Interface name.
    pub name: String,
    /// Driver name.
    pub driver: &'static str,
    /// Per-queue counters.
    pub queues: Vec<Arc<QueueStats>>,
    /// Generator/sink statistics of a `gen` port.
    pub gen: Option<Arc<GenStats>>,
}

impl PortView {
    /// Counters summed over queues.
    pub fn counters(&self) -> PortCounters {
        PortCounters::sum(self.queues.iter().map(|q| &**q))
    }

    /// Generator and sink figures as JSON, for `gen` ports.
    pub fn gen_summary(&self) -> Option<serde_json::Value> {
        let s = self.gen.as_ref()?.snapshot();
        Some(serde_json::json!({
            "generated": s.generated,
            "sink_packets": s.sink_packets,
            "sink_lost": s.sink_lost,
            "sink_reordered": s.sink_reordered,
            "sink_duplicate": s.sink_duplicate,
            "sink_other": s.sink_other,
            "arp_replies": s.arp_replies,
            "latency_ns": {
                "min": s.latency.min_ns(),
                "mean": s.latency.mean_ns(),
                "p50": s.latency.quantile_ns(0.5),
                "p99": s.latency.quantile_ns(0.99),
                "max": s.latency.max_ns(),
            },
        }))
    }
}

/// Ports opened for a router.
pub struct OpenedPorts<P: Pool, Q> {
    /// `per_worker[w][port]`: worker w's queue of each port.
    pub per_worker: Vec<Vec<Q>>,
    /// Counter views, by port.
    pub views: Vec<PortView>,
    /// Outside ends of `mem` links named by one interface only.
    pub external: HashMap<String, Vec<MemPort<P::Buf>>>,
}

/// The MAC of the first host a `gen` port emulates: locally administered,
/// "ge" then the port number.
fn gen_host_mac(port: usize) -> [u8; 6] {
    [0x02, 0x67, 0x65, (port >> 8) as u8, port as u8, 0]
}

/// A driver opened outside this module (`dpdk`): its name and queues.
pub type Extra<Q> = Result<(&'static str, Vec<Q>)>;

/// Opens interface drivers for one router, all at start or some at a
/// time when a config change adds interfaces.
pub struct Opener<P: Pool, Q> {
    /// Queues per port (one per worker).
    pub queues: usize,
    pool: P,
    wrap: fn(AnyPort<P>) -> Q,
    /// `gen` ports opened so far: each gets its own stream numbers so sinks
    /// tell flows of different generators apart, also across changes.
    gen_ports: u16,
}

/// Ports opened by an [`Opener`], by interface index.
pub struct Opened<P: Pool, Q> {
    /// `ports[i]`: every queue of interface `i` and its counter view, for
    /// the interfaces asked for.
    pub ports: Vec<Option<(Vec<Q>, PortView)>>,
    /// Outside ends of `mem` links named by one interface only.
    pub external: HashMap<String, Vec<MemPort<P::Buf>>>,
}

impl<P: Pool, Q: pmd::Port<P>> Opener<P, Q> {
    /// An opener of `queues` queues per port from `pool`; native drivers
    /// are wrapped into the router's port type `Q` with `wrap`.
    pub fn new(queues: usize, pool: P, wrap: fn(AnyPort<P>) -> Q) -> Self {
        Opener {
            queues,
            pool,
            wrap,
            gen_ports: 0,
        }
    }

    /// Open the interfaces of `cfg` for which `wanted(i)` holds. `extra`
    /// opens the drivers this module does not know (it returns `None` for
    /// the others). Both ends of a `mem` link between two interfaces must
    /// be wanted together.
    pub fn open(
        &mut self,
        cfg: &Config,
        wanted: impl Fn(usize) -> bool,
        mut extra: impl FnMut(usize, &Interface) -> Option<Extra<Q>>,
    ) -> Result<Opened<P, Q>> {
        let queues = self.queues;
        let wrap = self.wrap;
        let pool = self.pool.clone();
        let n = cfg.interfaces.len();
        let mut by_port: Vec<Option<Vec<Q>>> = (0..n).map(|_| None).collect();
        let mut ports: Vec<Option<(Vec<Q>, PortView)>> = (0..n).map(|_| None).collect();
        let mut external = HashMap::new();
        for (i, itf) in cfg.interfaces.iter().enumerate() {
            if !wanted(i) {
                continue;
            }
            let mut gen_stats = None;
            let (driver, qs): (&'static str, Vec<Q>) = if let Some(r) = extra(i, itf) {
                r?
            } else {
                match &itf.driver {
                    Driver::Gen(g) => {
                        let gc = GenConfig {
                            src_mac: gen_host_mac(i),
                            dst_mac: itf.mac,
                            src_ip: IpRange::new(g.src, g.src_count),
                            dst_ip: IpRange::new(g.dst, g.dst_count),
                            src_port: PortRange::new(g.src_port, g.src_port_count as u32),
                            dst_port: PortRange::new(g.dst_port, g.dst_port_count as u32),
                            frame_size: match g.frame_size {
                                FrameSize::Fixed(n) => n,
                                FrameSize::Imix => 64,
                            },
                            sizes: match g.frame_size {
                                FrameSize::Fixed(_) => Vec::new(),
                                FrameSize::Imix => gen::SIMPLE_IMIX.to_vec(),
                            },
                            vlan: g.vlan,
                            rate_pps: g.rate_pps,
                            count: g.count,
                            stream: self.gen_ports * queues as u16,
                            dont_fragment: false,
                            arp_reply: g.arp_reply,
                        };
                        self.gen_ports += 1;
                        let (ports, stats) = gen::open(&gc, queues, pool.clone())
                            .with_context(|| format!("interface {}: gen", itf.name))?;
                        gen_stats = Some(stats);
                        (
                            "gen",
                            ports.into_iter().map(|p| wrap(AnyPort::Gen(p))).collect(),
                        )
                    }
                    Driver::Mem(m) => {
                        if by_port[i].is_some() {
                            // Opened as the peer of an earlier interface.
                            let qs = by_port[i].take().expect("checked");
                            ("mem", qs)
                        } else {
                            let (a, b) = mem::link::<P::Buf>(queues, m.ring);
                            match m.peer {
                                Some(peer) if peer != i => {
                                    by_port[peer] = Some(
                                        b.into_iter().map(|p| wrap(AnyPort::Mem(p))).collect(),
                                    );
                                }
                                _ => {
                                    external.insert(itf.name.clone(), b);
                                }
                            }
                            (
                                "mem",
                                a.into_iter().map(|p| wrap(AnyPort::Mem(p))).collect(),
                            )
                        }
                    }
                    Driver::Pcap(p) => {
                        let pc = pcap::PcapConfig {
                            rx: p.rx.clone(),
                            tx: p.tx.clone(),
                            repeat: match p.repeat {
                                Repeat::Times(n) => pcap::Repeat::Times(n),
                                Repeat::Forever => pcap::Repeat::Forever,
                            },
                            deterministic: p.deterministic,
                        };
                        let ports = pcap::open(&pc, queues, pool.clone())
                            .with_context(|| format!("interface {}: pcap", itf.name))?;
                        (
                            "pcap",
                            ports.into_iter().map(|p| wrap(AnyPort::Pcap(p))).collect(),
                        )
                    }
                    Driver::AfPacket(a) => {
                        let mut ac = af_packet::AfPacketConfig::new(a.iface.clone());
                        ac.queues = a.queues.unwrap_or(queues);
                        if ac.queues != queues {
                            bail!(
                        "interface {}: af_packet queues = {} but there are {} workers; each worker owns one queue of every port",
                        itf.name,
                        ac.queues,
                        queues
                    );
                        }
                        ac.fanout_group = a.fanout_group;
                        ac.promisc = a.promisc;
                        let ports = af_packet::open(&ac, pool.clone())
                            .with_context(|| format!("interface {}", itf.name))?;
                        (
                            "af_packet",
                            ports
                                .into_iter()
                                .map(|p| wrap(AnyPort::AfPacket(p)))
                                .collect(),
                        )
                    }
                    other => bail!(
                        "interface {}: the {} driver is not available in this build",
                        itf.name,
                        other.kind()
                    ),
                }
            };
            if qs.len() != queues {
                bail!(
                    "interface {}: the driver opened {} queues, expected {}",
                    itf.name,
                    qs.len(),
                    queues
                );
            }
            let view = PortView {
                name: itf.name.clone(),
                driver,
                queues: qs.iter().map(|q| pmd::Port::stats(q).clone()).collect(),
                gen: gen_stats,
            };
            ports[i] = Some((qs, view));
        }
        Ok(Opened { ports, external })
    }
}

/// Open every interface's driver with `queues` queues. Native drivers are
/// wrapped into the router's port type `Q` with `wrap`; `extra` opens the
/// drivers this module does not know (it returns `None` for the others).
/// Returns the opener too, for interfaces added later.
pub fn open_all<P: Pool, Q: pmd::Port<P>>(
    cfg: &Config,
    queues: usize,
    pool: P,
    wrap: fn(AnyPort<P>) -> Q,
    extra: impl FnMut(usize, &Interface) -> Option<Extra<Q>>,
) -> Result<(OpenedPorts<P, Q>, Opener<P, Q>)> {
    let mut opener = Opener::new(queues, pool, wrap);
    let Opened { ports, external } = opener.open(cfg, |_| true, extra)?;
    let n = ports.len();
    let mut views = Vec::with_capacity(n);
    let mut per_worker: Vec<Vec<Q>> = (0..queues).map(|_| Vec::with_capacity(n)).collect();
    for p in ports {
        let (qs, view) = p.expect("every port opened");
        views.push(view);
        for (w, q) in qs.into_iter().enumerate() {
            per_worker[w].push(q);
        }
    }
    Ok((
        OpenedPorts {
            per_worker,
            views,
            external,
        },
        opener,
    ))
}
