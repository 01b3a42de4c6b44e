//! `weir ctl top`: a live view of the counters, as testpmd's `show port
//! stats`: rates per port and per worker between two samples of
//! `WatchCounters`, redrawn in place until Ctrl-C (or one JSON object per
//! sample and line with `--json`).

use super::client::Session;
use super::table::{duration_ns, si, thousands, Col, Table};
use super::view::{map_json, port_counters_json, worker_counters_json, View};
use super::Global;
use anyhow::Result;
use ctrl::api::proto::{Counters, PortCounters, WatchRequest, WorkerCounters};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// The arguments of `weir ctl top`.
#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Sampling period, ms.
    #[arg(long, default_value_t = 1000, value_name = "MS",
          value_parser = clap::value_parser!(u32).range(10..))]
    interval: u32,
    /// Stop after this many samples.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

/// One sample, with the one before it for rates.
pub struct Frame<'a> {
    /// The sample before (none for the first).
    pub prev: Option<&'a Counters>,
    /// This sample.
    pub cur: &'a Counters,
}

/// Per-second rate of a counter between two samples `dt` seconds apart.
fn rate(prev: u64, cur: u64, dt: f64) -> f64 {
    cur.saturating_sub(prev) as f64 / dt
}

impl Frame<'_> {
    /// Seconds between the two samples; none for the first sample or
    /// when the router restarted in between.
    fn dt(&self) -> Option<f64> {
        let prev = self.prev?;
        (self.cur.uptime_ns > prev.uptime_ns)
            .then(|| (self.cur.uptime_ns - prev.uptime_ns) as f64 / 1e9)
    }

    fn prev_port(&self, name: &str) -> Option<PortCounters> {
        let p = self.prev?.ports.iter().find(|p| p.name == name)?;
        Some(p.counters.unwrap_or_default())
    }

    fn prev_worker(&self, id: u32) -> Option<WorkerCounters> {
        let w = self.prev?.workers.iter().find(|w| w.id == id)?;
        Some(w.counters.unwrap_or_default())
    }

    /// Rates of a port: rx pps, rx bit/s, tx pps, tx bit/s.
    fn port_rates(&self, name: &str, c: &PortCounters) -> Option<[f64; 4]> {
        let (dt, p) = (self.dt()?, self.prev_port(name)?);
        Some([
            rate(p.rx_packets, c.rx_packets, dt),
            rate(p.rx_bytes, c.rx_bytes, dt) * 8.0,
            rate(p.tx_packets, c.tx_packets, dt),
            rate(p.tx_bytes, c.tx_bytes, dt) * 8.0,
        ])
    }

    /// Rates of a worker: rx, forwarded, dropped, per second.
    fn worker_rates(&self, id: u32, c: &WorkerCounters) -> Option<[f64; 3]> {
        let (dt, p) = (self.dt()?, self.prev_worker(id)?);
        Some([
            rate(p.rx_packets, c.rx_packets, dt),
            rate(p.forwarded, c.forwarded, dt),
            rate(p.dropped, c.dropped, dt),
        ])
    }

    fn drop_rate(&self, reason: &str, n: u64) -> Option<f64> {
        let before = self.prev?.drops.get(reason).copied().unwrap_or(0);
        Some(rate(before, n, self.dt()?))
    }
}

/// Rates as cells, `-` before there are two samples.
fn cells<const N: usize>(r: Option<[f64; N]>) -> [String; N] {
    r.map_or_else(|| std::array::from_fn(|_| String::new()), |r| r.map(si))
}

impl View for Frame<'_> {
    fn human(&self) -> String {
        let mut ports = Table::new(&[
            Col::L("PORT"),
            Col::R("RX-PPS"),
            Col::R("RX-BIT/S"),
            Col::R("TX-PPS"),
            Col::R("TX-BIT/S"),
            Col::R("RX-PACKETS"),
            Col::R("TX-PACKETS"),
            Col::R("RX-MISSED"),
            Col::R("TX-DROPPED"),
        ]);
        for p in &self.cur.ports {
            let c = p.counters.unwrap_or_default();
            let mut row = vec![p.name.clone()];
            row.extend(cells(self.port_rates(&p.name, &c)));
            row.extend([c.rx_packets, c.tx_packets, c.rx_missed, c.tx_dropped].map(thousands));
            ports.row(row);
        }
        let mut workers = Table::new(&[
            Col::R("WORKER"),
            Col::R("RX-PPS"),
            Col::R("FWD-PPS"),
            Col::R("DROP-PPS"),
            Col::R("RX-PACKETS"),
            Col::R("FORWARDED"),
            Col::R("DROPPED"),
        ]);
        for w in &self.cur.workers {
            let c = w.counters.unwrap_or_default();
            let mut row = vec![w.id.to_string()];
            row.extend(cells(self.worker_rates(w.id, &c)));
            row.extend([c.rx_packets, c.forwarded, c.dropped].map(thousands));
            workers.row(row);
        }
        let mut drops = Table::new(&[Col::L("DROP-REASON"), Col::R("PER-S"), Col::R("TOTAL")]);
        let mut reasons: Vec<_> = self.cur.drops.iter().collect();
        reasons.sort();
        for (reason, &n) in reasons {
            let r = self.drop_rate(reason, n).map(si).unwrap_or_default();
            drops.row([reason.clone(), r, thousands(n)]);
        }
        format!(
            "uptime {}  generation {}\n\n{ports}\n{workers}\n{drops}",
            duration_ns(self.cur.uptime_ns),
            self.cur.generation
        )
    }

    fn json(&self) -> Value {
        let opt = |r: Option<f64>| r.map_or(Value::Null, |x| json!(x));
        let ports: Vec<Value> = self
            .cur
            .ports
            .iter()
            .map(|p| {
                let c = p.counters.unwrap_or_default();
                let r = self.port_rates(&p.name, &c);
                json!({
                    "name": p.name,
                    "rx_pps": opt(r.map(|r| r[0])), "rx_bps": opt(r.map(|r| r[1])),
                    "tx_pps": opt(r.map(|r| r[2])), "tx_bps": opt(r.map(|r| r[3])),
                    "counters": port_counters_json(&c),
                })
            })
            .collect();
        let workers: Vec<Value> = self
            .cur
            .workers
            .iter()
            .map(|w| {
                let c = w.counters.unwrap_or_default();
                let r = self.worker_rates(w.id, &c);
                json!({
                    "id": w.id,
                    "rx_pps": opt(r.map(|r| r[0])), "forwarded_pps": opt(r.map(|r| r[1])),
                    "dropped_pps": opt(r.map(|r| r[2])),
                    "counters": worker_counters_json(&c), "drops": map_json(&w.drops),
                })
            })
            .collect();
        json!({
            "uptime_ns": self.cur.uptime_ns, "generation": self.cur.generation,
            "interval_s": opt(self.dt()),
            "ports": ports, "workers": workers,
            "drops": map_json(&self.cur.drops), "control": map_json(&self.cur.control),
        })
    }
}

/// `weir ctl top`.
pub async fn run(g: &Global, args: &TopArgs) -> Result<ExitCode> {
    let session = Session::open(&g.conn).await?;
    let req = WatchRequest {
        interval_ms: args.interval,
    };
    let mut stream = session
        .call("WatchCounters", |mut c| async move {
            c.watch_counters(req).await
        })
        .await?;
    let tty = std::io::stdout().is_terminal();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut prev: Option<Counters> = None;
    let mut samples = 0u64;
    loop {
        if args.count.is_some_and(|n| samples >= n) {
            break;
        }
        let msg = tokio::select! {
            _ = &mut ctrl_c => break,
            m = stream.message() => m,
        };
        let Some(cur) = msg.map_err(|s| session.error("WatchCounters", &s))? else {
            eprintln!("weir: the router ended the stream");
            break;
        };
        let frame = Frame {
            prev: prev.as_ref(),
            cur: &cur,
        };
        let mut out = std::io::stdout().lock();
        let written = if g.json {
            writeln!(out, "{}", frame.json())
        } else if tty {
            // Home, clear the screen, then the frame.
            write!(
                out,
                "\x1b[H\x1b[2Jweir ctl top: {} every {} ms (Ctrl-C quits)\n{}",
                g.conn.address,
                args.interval,
                frame.human()
            )
        } else {
            writeln!(out, "{}", frame.human())
        };
        if written.and_then(|()| out.flush()).is_err() {
            break; // stdout went away (e.g. `| head`).
        }
        prev = Some(cur);
        samples += 1;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctrl::api::proto::{PortStat, WorkerStat};
    use std::collections::HashMap;

    fn drops(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    }

    fn sample(uptime_s: u64, rx: u64, fwd: u64, no_route: u64) -> Counters {
        Counters {
            uptime_ns: uptime_s * 1_000_000_000,
            generation: 3,
            ports: vec![PortStat {
                name: "gen0".into(),
                counters: Some(PortCounters {
                    rx_packets: rx,
                    rx_bytes: rx * 64,
                    tx_packets: fwd,
                    tx_bytes: fwd * 64,
                    ..Default::default()
                }),
            }],
            workers: vec![WorkerStat {
                id: 0,
                counters: Some(WorkerCounters {
                    rx_packets: rx,
                    forwarded: fwd,
                    dropped: no_route,
                    ..Default::default()
                }),
                drops: drops(&[("no-route", no_route)]),
            }],
            drops: drops(&[("no-route", no_route)]),
            control: HashMap::new(),
        }
    }

    #[test]
    fn rates_between_two_samples() {
        let a = sample(10, 1_000_000, 900_000, 100);
        let b = sample(12, 3_000_000, 2_900_000, 300);
        let f = Frame {
            prev: Some(&a),
            cur: &b,
        };
        let v = f.json();
        assert_eq!(v["interval_s"], 2.0);
        assert_eq!(v["ports"][0]["rx_pps"], 1_000_000.0);
        assert_eq!(v["ports"][0]["rx_bps"], 512_000_000.0);
        assert_eq!(v["workers"][0]["dropped_pps"], 100.0);
        assert_eq!(v["drops"]["no-route"], 300);
        let h = f.human();
        assert!(h.contains("uptime 00:00:12  generation 3"), "{h}");
        assert!(
            h.contains("gen0   1.00M      512M   1.00M      512M   3,000,000   2,900,000  "),
            "{h}"
        );
        assert!(h.contains("no-route       100    300"), "{h}");
    }

    #[test]
    fn the_first_sample_has_no_rates() {
        let a = sample(10, 5, 5, 0);
        let f = Frame {
            prev: None,
            cur: &a,
        };
        assert!(f.json()["ports"][0]["rx_pps"].is_null());
        assert!(f.json()["interval_s"].is_null());
        let h = f.human();
        assert!(
            h.contains("gen0       -         -       -         -           5"),
            "{h}"
        );
        // A restart (uptime going back) is no rate either.
        let b = sample(1, 9, 9, 0);
        let f = Frame {
            prev: Some(&a),
            cur: &b,
        };
        assert!(f.json()["workers"][0]["rx_pps"].is_null());
    }
}
