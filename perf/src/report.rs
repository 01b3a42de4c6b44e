//! The report: what `--json` writes (schema [`SCHEMA`], documented in the
//! crate docs) and the terminal table.

use crate::latency::LatencySummary;
use crate::search::TrialResult;
use crate::sysinfo::SystemInfo;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Schema name and version of the JSON report.
pub const SCHEMA: &str = "weir-bench/1";

/// Minimum, median and maximum of one figure over the runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Smallest.
    pub min: f64,
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Stat {
    /// Of `values` (all 0 when empty; NaNs are ignored).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Stat {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Stat::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stat {
            min: v[0],
            median,
            max: v[n - 1],
        }
    }

    /// Largest relative deviation of min or max from the median (0 when
    /// the median is 0).
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            ((self.max - self.median).max(self.median - self.min)) / self.median
        }
    }
}

/// Where the run was made and with which settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Runs per point.
    pub runs: usize,
    /// Seconds of traffic per trial.
    pub trial_secs: f64,
    /// Search resolution, fraction of the maximum rate.
    pub resolution: f64,
    /// Loss ratio PDR allows.
    pub pdr_loss: f64,
    /// Packets per `mem` ring direction between tester and device.
    pub ring: usize,
    /// Frame sizes, in order (`"64"`, ..., `"imix"`).
    pub sizes: Vec<String>,
    /// Upper bound of the search if given (`--max-rate`), pps.
    pub max_rate_pps: Option<f64>,
    /// Loads of the latency trials, percent of NDR.
    pub latency_loads_pct: Vec<f64>,
    /// weir's worker cores.
    pub worker_cores: Vec<usize>,
    /// weir's control core, if pinned.
    pub control_core: Option<usize>,
    /// The tester's core, if pinned.
    pub tester_core: Option<usize>,
    /// Port driver between tester and device (`mem`).
    pub driver: String,
}

/// One latency trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyRun {
    /// Load, percent of this run's NDR.
    pub load_pct: f64,
    /// Counts and rates.
    pub trial: TrialResult,
    /// Percentiles.
    pub latency: LatencySummary,
}

/// One run (search and latency trials) at one frame size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// NDR, packets per second.
    pub ndr_pps: f64,
    /// PDR, packets per second.
    pub pdr_pps: f64,
    /// The trial at 100 % load (the tester as fast as it can).
    pub full_load: TrialResult,
    /// The search's trials, in order.
    pub trials: Vec<TrialResult>,
    /// Latency trials at the loads of [`Settings::latency_loads_pct`].
    pub latency: Vec<LatencyRun>,
}

/// Latency percentiles at one load, over the runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    /// Load, percent of NDR.
    pub load_pct: f64,
    /// Median latency, ns.
    pub p50_ns: Stat,
    /// 90th percentile, ns.
    pub p90_ns: Stat,
    /// 99th percentile, ns.
    pub p99_ns: Stat,
    /// 99.9th percentile, ns.
    pub p999_ns: Stat,
    /// Largest, ns.
    pub max_ns: Stat,
}

/// Everything measured at one frame size on one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// `"64"` ... `"1518"` or `"imix"`.
    pub size: String,
    /// Mean frame size in bytes, FCS included.
    pub frame_bytes: f64,
    /// NDR in Mpps.
    pub ndr_mpps: Stat,
    /// PDR in Mpps.
    pub pdr_mpps: Stat,
    /// NDR in Gb/s of frames (FCS included, no preamble or gap).
    pub ndr_gbps: Stat,
    /// Rate offered at 100 % load, Mpps.
    pub full_load_mpps: Stat,
    /// Loss ratio at 100 % load (RFC 2544 §26.3), 0..=1.
    pub full_load_loss: Stat,
    /// Latency at each load.
    pub latency: Vec<LatencyPoint>,
    /// Every run.
    pub runs: Vec<Run>,
}

impl Point {
    /// Summarize `runs` at frame size `size` of `frame_bytes`.
    pub fn from_runs(size: String, frame_bytes: f64, runs: Vec<Run>) -> Point {
        let m = |f: &dyn Fn(&Run) -> f64| Stat::of(runs.iter().map(f));
        let mut loads: Vec<f64> = Vec::new();
        for r in &runs {
            for l in &r.latency {
                if !loads.contains(&l.load_pct) {
                    loads.push(l.load_pct);
                }
            }
        }
        let latency = loads
            .iter()
            .map(|&load| {
                let at: Vec<&LatencySummary> = runs
                    .iter()
                    .flat_map(|r| r.latency.iter())
                    .filter(|l| l.load_pct == load && l.latency.count > 0)
                    .map(|l| &l.latency)
                    .collect();
                let s = |f: fn(&LatencySummary) -> u64| Stat::of(at.iter().map(|l| f(l) as f64));
                LatencyPoint {
                    load_pct: load,
                    p50_ns: s(|l| l.p50_ns),
                    p90_ns: s(|l| l.p90_ns),
                    p99_ns: s(|l| l.p99_ns),
                    p999_ns: s(|l| l.p999_ns),
                    max_ns: s(|l| l.max_ns),
                }
            })
            .collect();
        Point {
            ndr_mpps: m(&|r| r.ndr_pps / 1e6),
            pdr_mpps: m(&|r| r.pdr_pps / 1e6),
            ndr_gbps: m(&|r| r.ndr_pps * frame_bytes * 8.0 / 1e9),
            full_load_mpps: m(&|r| r.full_load.offered_pps / 1e6),
            full_load_loss: m(&|r| r.full_load.loss_ratio()),
            size,
            frame_bytes,
            latency,
            runs,
        }
    }
}

/// Results on one device: weir or a baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceReport {
    /// `weir`, `loopback` or `testpmd`.
    pub name: String,
    /// What it is.
    pub description: String,
    /// One point per frame size, in [`Settings::sizes`] order.
    pub points: Vec<Point>,
}

/// The maximum rate of weir's inline `gen` ports (one core generating,
/// routing and sinking) at one frame size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InlinePoint {
    /// Frame size label.
    pub size: String,
    /// Frames reaching the egress sink per second, Mpps, over the runs.
    pub mpps: Stat,
}

/// A device's figures divided by a baseline's (medians).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Baseline name.
    pub baseline: String,
    /// What is compared: `"ndr_pdr"` (weir's and the baseline's searches
    /// through the tester) or `"inline_max"` (weir's inline `gen` maximum
    /// rate against the baseline's forwarding rate, both in `ndr`; `pdr`
    /// is `null`).
    pub basis: String,
    /// Frame size label.
    pub size: String,
    /// weir NDR / baseline NDR (`null` when the baseline's is 0).
    pub ndr: Option<f64>,
    /// weir PDR / baseline PDR.
    pub pdr: Option<f64>,
}

/// The whole report (`--json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub scenario_description: String,
    /// Scenario file.
    pub scenario_path: String,
    /// Machine, build, command.
    pub system: SystemInfo,
    /// Settings.
    pub settings: Settings,
    /// weir first, then each baseline.
    pub devices: Vec<DeviceReport>,
    /// weir's inline `gen` maximum rate per frame size.
    pub inline: Vec<InlinePoint>,
    /// weir relative to each baseline.
    pub ratios: Vec<Ratio>,
    /// Baselines or parts not measured, with the reason.
    pub skipped: Vec<String>,
    /// Wall-clock seconds the whole run took.
    pub elapsed_secs: f64,
}

impl Report {
    /// Fill [`Report::ratios`] from the devices: the first device (weir)
    /// against every other.
    pub fn compute_ratios(&mut self) {
        self.ratios.clear();
        let Some((dut, bases)) = self.devices.split_first() else {
            return;
        };
        let div = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        for b in bases {
            if b.name == "testpmd" {
                for p in &self.inline {
                    if let Some(q) = b.points.iter().find(|q| q.size == p.size) {
                        self.ratios.push(Ratio {
                            baseline: b.name.clone(),
                            basis: "inline_max".into(),
                            size: p.size.clone(),
                            ndr: div(p.mpps.median, q.ndr_mpps.median),
                            pdr: None,
                        });
                    }
                }
                continue;
            }
            for p in &dut.points {
                if let Some(q) = b.points.iter().find(|q| q.size == p.size) {
                    self.ratios.push(Ratio {
                        baseline: b.name.clone(),
                        basis: "ndr_pdr".into(),
                        size: p.size.clone(),
                        ndr: div(p.ndr_mpps.median, q.ndr_mpps.median),
                        pdr: div(p.pdr_mpps.median, q.pdr_mpps.median),
                    });
                }
            }
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let s = &self.system;
        let _ = writeln!(
            o,
            "weir bench: {} ({}), {} run{} × {} s trials",
            self.scenario,
            self.scenario_description,
            self.settings.runs,
            if self.settings.runs == 1 { "" } else { "s" },
            self.settings.trial_secs
        );
        let _ = writeln!(
            o,
            "  {} | {} cores | load {} | kernel {} | hugepages {}/{} × {} kB | weir {} | workers {:?} control {:?} tester {:?}",
            if s.cpu_model.is_empty() { "unknown CPU" } else { &s.cpu_model },
            s.cores,
            s.loadavg,
            s.kernel,
            s.hugepages.free,
            s.hugepages.total,
            s.hugepages.size_kb,
            if s.weir_commit.is_empty() { "(commit unknown)" } else { &s.weir_commit },
            self.settings.worker_cores,
            self.settings.control_core,
            self.settings.tester_core,
        );
        let _ = writeln!(o, "  command: {}", s.command);
        let st = |x: &Stat, scale: f64, prec: usize| {
            format!(
                "{:.p$} [{:.p$}-{:.p$}]",
                x.median * scale,
                x.min * scale,
                x.max * scale,
                p = prec
            )
        };
        for d in &self.devices {
            let _ = writeln!(o, "\n{} — {}", d.name, d.description);
            let _ = writeln!(
                o,
                "  {:>5}  {:>22}  {:>22}  {:>8}  {:>20}  {:>9}",
                "size",
                "NDR Mpps med [min-max]",
                "PDR Mpps med [min-max]",
                "NDR Gb/s",
                "100% load Mpps",
                "loss@100%"
            );
            for p in &d.points {
                let _ = writeln!(
                    o,
                    "  {:>5}  {:>22}  {:>22}  {:>8.2}  {:>20}  {:>8.3}%",
                    p.size,
                    st(&p.ndr_mpps, 1.0, 3),
                    st(&p.pdr_mpps, 1.0, 3),
                    p.ndr_gbps.median,
                    st(&p.full_load_mpps, 1.0, 3),
                    p.full_load_loss.median * 100.0
                );
            }
            let any_lat = d.points.iter().any(|p| !p.latency.is_empty());
            if any_lat {
                let _ = writeln!(
                    o,
                    "  latency (µs, median of runs)  {:>5}  {:>5}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
                    "size", "load", "p50", "p90", "p99", "p99.9", "max"
                );
                for p in &d.points {
                    for l in &p.latency {
                        let _ = writeln!(
                            o,
                            "  {:29}  {:>5}  {:>4}%  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}",
                            "",
                            p.size,
                            l.load_pct,
                            l.p50_ns.median / 1e3,
                            l.p90_ns.median / 1e3,
                            l.p99_ns.median / 1e3,
                            l.p999_ns.median / 1e3,
                            l.max_ns.median / 1e3
                        );
                    }
                }
            }
        }
        if !self.inline.is_empty() {
            let _ = writeln!(
                o,
                "\nweir inline gen ports (one core generates, routes and sinks): max rate"
            );
            for p in &self.inline {
                let _ = writeln!(o, "  {:>5}  {} Mpps", p.size, st(&p.mpps, 1.0, 3));
            }
        }
        if !self.ratios.is_empty() {
            let _ = writeln!(o, "\nweir / baseline (medians)");
            for r in &self.ratios {
                let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
                let _ = writeln!(
                    o,
                    "  {:>9}  {:>10}  {:>5}  NDR {:>6}  PDR {:>6}",
                    r.baseline,
                    r.basis,
                    r.size,
                    f(r.ndr),
                    f(r.pdr)
                );
            }
        }
        for s in &self.skipped {
            let _ = writeln!(o, "skipped: {s}");
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        assert_eq!(
            Stat::of([3.0, 1.0, 2.0]),
            Stat {
                min: 1.0,
                median: 2.0,
                max: 3.0
            }
        );
        assert_eq!(Stat::of([4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Stat::of([]), Stat::default());
        assert!((Stat::of([95.0, 100.0, 104.0]).spread() - 0.05).abs() < 1e-12);
    }

    fn run(ndr: f64, lost: u64) -> Run {
        Run {
            ndr_pps: ndr,
            pdr_pps: ndr * 1.1,
            full_load: TrialResult {
                target_pps: 0.0,
                offered_pps: 2e6,
                sent: 1000,
                received: 1000 - lost,
            },
            trials: vec![],
            latency: vec![LatencyRun {
                load_pct: 10.0,
                trial: TrialResult::default(),
                latency: LatencySummary {
                    count: 5,
                    p50_ns: ndr as u64 / 1000,
                    ..LatencySummary::default()
                },
            }],
        }
    }

    #[test]
    fn schema_round_trips_and_has_the_documented_fields() {
        let p = Point::from_runs(
            "64".into(),
            64.0,
            vec![run(1e6, 0), run(2e6, 10), run(3e6, 20)],
        );
        assert_eq!(p.ndr_mpps.median, 2.0);
        assert!((p.ndr_gbps.median - 2e6 * 64.0 * 8.0 / 1e9).abs() < 1e-9);
        assert_eq!(p.full_load_loss.max, 0.02);
        assert_eq!(p.latency[0].p50_ns.median, 2000.0);
        let mut r = Report {
            schema: SCHEMA.into(),
            devices: vec![
                DeviceReport {
                    name: "weir".into(),
                    points: vec![p.clone()],
                    ..DeviceReport::default()
                },
                DeviceReport {
                    name: "loopback".into(),
                    points: vec![Point::from_runs("64".into(), 64.0, vec![run(4e6, 0)])],
                    ..DeviceReport::default()
                },
            ],
            ..Report::default()
        };
        r.compute_ratios();
        assert_eq!(r.ratios.len(), 1);
        assert_eq!(r.ratios[0].ndr, Some(0.5));
        let json = r.to_json();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        // The documented shape (crate docs): these paths exist.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for path in [
            "/schema",
            "/system/cpu_model",
            "/system/weir_commit",
            "/system/command",
            "/system/hugepages/total",
            "/settings/runs",
            "/settings/trial_secs",
            "/devices/0/name",
            "/devices/0/points/0/size",
            "/devices/0/points/0/ndr_mpps/median",
            "/devices/0/points/0/pdr_mpps/min",
            "/devices/0/points/0/full_load_loss/max",
            "/devices/0/points/0/latency/0/p999_ns/median",
            "/devices/0/points/0/runs/0/full_load/sent",
            "/devices/0/points/0/runs/0/latency/0/latency/p50_ns",
            "/ratios/0/ndr",
            "/inline",
            "/skipped",
        ] {
            assert!(v.pointer(path).is_some(), "missing {path}");
        }
        assert!(r.table().contains("weir / baseline"));
    }
}
