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

/// Open every interface's driver with `queues` queues. Native drivers are
/// wrapped into the router's port type `Q` with `wrap`; `extra` opens the
/// drivers this module does not know (it returns `None` for the others).
pub fn open_all<P: Pool, Q: pmd::Port<P>>(
    cfg: &Config,
    queues: usize,
    pool: P,
    wrap: impl Fn(AnyPort<P>) -> Q,
    mut extra: impl FnMut(usize, &Interface) -> Option<Extra<Q>>,
) -> Result<OpenedPorts<P, Q>> {
    let n = cfg.interfaces.len();
    let mut by_port: Vec<Option<Vec<Q>>> = (0..n).map(|_| None).collect();
    let mut views = Vec::with_capacity(n);
    let mut external = HashMap::new();
    let mut gen_ports = 0u16;
    for (i, itf) in cfg.interfaces.iter().enumerate() {
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
                        stream: gen_ports * queues as u16,
                        dont_fragment: false,
                        arp_reply: g.arp_reply,
                    };
                    gen_ports += 1;
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
                                by_port[peer] =
                                    Some(b.into_iter().map(|p| wrap(AnyPort::Mem(p))).collect());
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
        views.push(PortView {
            name: itf.name.clone(),
            driver,
            queues: qs.iter().map(|q| pmd::Port::stats(q).clone()).collect(),
            gen: gen_stats,
        });
        by_port[i] = Some(qs);
    }
    // Transpose port-major into worker-major.
    let mut per_worker: Vec<Vec<Q>> = (0..queues).map(|_| Vec::with_capacity(n)).collect();
    for qs in by_port.into_iter() {
        let qs = qs.expect("every port opened");
        if qs.len() != queues {
            bail!("a driver opened {} queues, expected {}", qs.len(), queues);
        }
        for (w, q) in qs.into_iter().enumerate() {
            per_worker[w].push(q);
        }
    }
    Ok(OpenedPorts {
        per_worker,
        views,
        external,
    })
}
