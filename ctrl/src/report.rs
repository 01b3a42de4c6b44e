//! What `weir run` prints: a rate line per second and the final summary
//! (a table, and JSON for `--summary-json`).
//!
//! Rates count Ethernet frames without preamble, inter-frame gap or FCS:
//! Gbit/s = frame bytes × 8 per second.

use crate::router::{Router, Stats};
use pipeline::{CounterValues, DropReason};
use pmd::PortCounters;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Counters at one moment.
#[derive(Clone, Debug)]
pub struct Sample {
    at: Instant,
    ports: Vec<PortCounters>,
    pipeline: CounterValues,
}

/// Read all counters now.
pub fn sample(stats: &Stats) -> Sample {
    Sample {
        at: Instant::now(),
        ports: stats.ports().iter().map(|p| p.counters()).collect(),
        pipeline: stats.pipeline(),
    }
}

fn mpps(pkts: u64, secs: f64) -> f64 {
    pkts as f64 / secs / 1e6
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 * 8.0 / secs / 1e9
}

/// One line of rates between two samples.
pub fn rate_line(stats: &Stats, prev: &Sample, cur: &Sample, start: Instant) -> String {
    let dt = cur.at.duration_since(prev.at).as_secs_f64().max(1e-9);
    let mut s = format!("[{:>4.0}s]", cur.at.duration_since(start).as_secs_f64());
    for (i, view) in stats.ports().iter().enumerate() {
        let (a, b) = (&prev.ports[i], &cur.ports[i]);
        let _ = write!(
            s,
            " {} rx {:.2} Mpps {:.2} Gb/s tx {:.2} Mpps {:.2} Gb/s |",
            view.name,
            mpps(b.rx_packets - a.rx_packets, dt),
            gbps(b.rx_bytes - a.rx_bytes, dt),
            mpps(b.tx_packets - a.tx_packets, dt),
            gbps(b.tx_bytes - a.tx_bytes, dt),
        );
    }
    let drops: Vec<String> = DropReason::ALL
        .iter()
        .filter_map(|r| {
            let d = cur.pipeline.dropped(*r) - prev.pipeline.dropped(*r);
            (d > 0).then(|| format!("{} {}/s", r.name(), (d as f64 / dt).round()))
        })
        .collect();
    if drops.is_empty() {
        s.push_str(" drops: none");
    } else {
        let _ = write!(s, " drops: {}", drops.join(", "));
    }
    s
}

/// Final counters of one port.
#[derive(Clone, Debug, Serialize)]
pub struct PortSummary {
    /// Interface name.
    pub name: String,
    /// Driver.
    pub driver: &'static str,
    /// Packets received by the router on this port.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets transmitted by the router on this port.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets lost before the router saw them.
    pub rx_missed: u64,
    /// Malformed frames discarded by the driver.
    pub rx_errors: u64,
    /// Packets that could not be transmitted.
    pub tx_dropped: u64,
    /// Generator/sink figures for `gen` ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gen: Option<serde_json::Value>,
}

/// Pipeline totals.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineSummary {
    /// Packets routed out of a port.
    pub forwarded: u64,
    /// Packets answered by the data plane (ICMP echo).
    pub local: u64,
    /// Packets handed to the control plane.
    pub punted: u64,
    /// Packets the control plane sent through workers.
    pub injected: u64,
    /// ICMP errors originated.
    pub icmp_errors: u64,
    /// ICMP errors suppressed by the rate limit.
    pub icmp_ratelimited: u64,
}

/// Everything `weir run` reports at the end.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The config file.
    pub config: String,
    /// Seconds the router ran.
    pub elapsed_seconds: f64,
    /// Per port.
    pub ports: Vec<PortSummary>,
    /// Pipeline totals.
    pub pipeline: PipelineSummary,
    /// Drops by reason (every reason, zeros included).
    pub drops: BTreeMap<&'static str, u64>,
    /// Control plane counters.
    pub control: BTreeMap<&'static str, u64>,
    /// Packets received on all ports per second, in millions.
    pub rx_mpps: f64,
    /// Packets transmitted on all ports per second, in millions.
    pub tx_mpps: f64,
}

impl Summary {
    /// Read the final counters of a (stopped) router.
    pub fn collect(router: &Router, elapsed: Duration) -> Summary {
        let stats = router.stats();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ports: Vec<PortSummary> = stats
            .ports()
            .iter()
            .map(|v| {
                let c = v.counters();
                PortSummary {
                    name: v.name.clone(),
                    driver: v.driver,
                    rx_packets: c.rx_packets,
                    rx_bytes: c.rx_bytes,
                    tx_packets: c.tx_packets,
                    tx_bytes: c.tx_bytes,
                    rx_missed: c.rx_missed,
                    rx_errors: c.rx_errors,
                    tx_dropped: c.tx_dropped,
                    gen: v.gen_summary(),
                }
            })
            .collect();
        let p = stats.pipeline();
        let drops = DropReason::ALL
            .iter()
            .map(|r| (r.name(), p.dropped(*r)))
            .collect();
        let c = &stats.control;
        let control = c.values().into_iter().collect();
        let rx: u64 = ports.iter().map(|p| p.rx_packets).sum();
        let tx: u64 = ports.iter().map(|p| p.tx_packets).sum();
        Summary {
            config: router.config().path.display().to_string(),
            elapsed_seconds: secs,
            ports,
            pipeline: PipelineSummary {
                forwarded: p.forwarded,
                local: p.local,
                punted: p.punted,
                injected: p.injected,
                icmp_errors: p.icmp_errors,
                icmp_ratelimited: p.icmp_ratelimited,
            },
            drops,
            control,
            rx_mpps: mpps(rx, secs),
            tx_mpps: mpps(tx, secs),
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summary serialises") + "\n"
    }

    /// A readable table.
    pub fn table(&self) -> String {
        let secs = self.elapsed_seconds;
        let mut s = String::new();
        let _ = writeln!(s, "\nweir: summary after {secs:.2} s");
        let _ = writeln!(
            s,
            "  {:<12} {:<10} {:>14} {:>9} {:>14} {:>9} {:>10} {:>10}",
            "port",
            "driver",
            "rx packets",
            "rx Mpps",
            "tx packets",
            "tx Mpps",
            "rx missed",
            "tx drop"
        );
        for p in &self.ports {
            let _ = writeln!(
                s,
                "  {:<12} {:<10} {:>14} {:>9.3} {:>14} {:>9.3} {:>10} {:>10}",
                p.name,
                p.driver,
                p.rx_packets,
                mpps(p.rx_packets, secs),
                p.tx_packets,
                mpps(p.tx_packets, secs),
                p.rx_missed,
                p.tx_dropped
            );
            if let Some(g) = &p.gen {
                let _ = writeln!(s, "  {:<12} gen: {}", "", g);
            }
        }
        let pl = &self.pipeline;
        let _ = writeln!(
            s,
            "  forwarded {} ({:.3} Mpps), local {}, punted {}, injected {}, icmp errors {} ({} rate-limited)",
            pl.forwarded,
            mpps(pl.forwarded, secs),
            pl.local,
            pl.punted,
            pl.injected,
            pl.icmp_errors,
            pl.icmp_ratelimited
        );
        let drops: Vec<String> = self
            .drops
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "  drops: {}",
            if drops.is_empty() {
                "none".into()
            } else {
                drops.join(", ")
            }
        );
        let ctl: Vec<String> = self
            .control
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(s, "  control: {}", ctl.join(", "));
        s
    }
}
