//! The report: what `--json` writes (schema [`SCHEMA`], documented in the
//! crate docs) and the terminal table.

use crate::latency::LatencySummary;
use crate::search::{Direction, TrialResult};
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
    /// Port driver between tester and device (`mem`, or the DPDK ports).
    pub driver: String,
    /// Two-way traffic: rates are totals of both directions, split
    /// evenly (absent from one-way reports).
    #[serde(default, skip_serializing_if = "is_false")]
    pub bidirectional: bool,
    /// NDR and PDR do not count the loss of workers' stalls
    /// (`--excuse-stalls`, [`crate::stalls`]).
    #[serde(default)]
    pub excuse_stalls: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One latency trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyRun {
    /// Load, percent of this run's NDR.
    pub load_pct: f64,
    /// Counts and rates.
    pub trial: TrialResult,
    /// Percentiles (both directions of a two-way trial).
    pub latency: LatencySummary,
    /// Two-way: each direction's percentiles, forward first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<DirectionLatency>,
}

/// One direction's latency in a two-way latency trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectionLatency {
    /// Which direction.
    pub direction: Direction,
    /// Its percentiles.
    pub latency: LatencySummary,
}

/// One direction of a two-way run: its share of the passing trials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDirection {
    /// Which direction.
    pub direction: Direction,
    /// Rate this direction offered in the trial that gave the run's NDR
    /// (never more than half its target), pps; 0 without an NDR.
    pub ndr_pps: f64,
    /// The same in the trial that gave the PDR.
    pub pdr_pps: f64,
    /// This direction's loss ratio in the PDR trial (the PDR bounds the
    /// total; one direction may lose more).
    pub pdr_loss: f64,
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
    /// Two-way: each direction, forward first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<RunDirection>,
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
    /// Two-way: each direction's figures, forward first (the fields above
    /// are the totals).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<DirectionPoint>,
    /// Every run.
    pub runs: Vec<Run>,
}

/// One direction of a two-way point, over the runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectionPoint {
    /// Which direction.
    pub direction: Direction,
    /// This direction's rate in the NDR trials, Mpps.
    pub ndr_mpps: Stat,
    /// This direction's rate in the PDR trials, Mpps.
    pub pdr_mpps: Stat,
    /// This direction's loss ratio in the PDR trials.
    pub pdr_loss: Stat,
    /// Rate this direction offered at 100 % load, Mpps.
    pub full_load_mpps: Stat,
    /// This direction's loss ratio at 100 % load.
    pub full_load_loss: Stat,
    /// This direction's latency at each load.
    pub latency: Vec<LatencyPoint>,
}

/// Latency percentiles at each load found in `at` (load, summary), over
/// the runs; summaries of no frame are left out.
fn latency_points<'a>(
    at: impl Iterator<Item = (f64, &'a LatencySummary)> + Clone,
) -> Vec<LatencyPoint> {
    let mut loads: Vec<f64> = Vec::new();
    for (l, _) in at.clone() {
        if !loads.contains(&l) {
            loads.push(l);
        }
    }
    loads
        .iter()
        .map(|&load| {
            let here: Vec<&LatencySummary> = at
                .clone()
                .filter(|(l, s)| *l == load && s.count > 0)
                .map(|(_, s)| s)
                .collect();
            let s = |f: fn(&LatencySummary) -> u64| Stat::of(here.iter().map(|l| f(l) as f64));
            LatencyPoint {
                load_pct: load,
                p50_ns: s(|l| l.p50_ns),
                p90_ns: s(|l| l.p90_ns),
                p99_ns: s(|l| l.p99_ns),
                p999_ns: s(|l| l.p999_ns),
                max_ns: s(|l| l.max_ns),
            }
        })
        .collect()
}

impl Point {
    /// Summarize `runs` at frame size `size` of `frame_bytes`.
    pub fn from_runs(size: String, frame_bytes: f64, runs: Vec<Run>) -> Point {
        let m = |f: &dyn Fn(&Run) -> f64| Stat::of(runs.iter().map(f));
        let latency = latency_points(
            runs.iter()
                .flat_map(|r| r.latency.iter())
                .map(|l| (l.load_pct, &l.latency)),
        );
        let two_way = runs.iter().any(|r| !r.directions.is_empty());
        let directions = if two_way {
            Direction::BOTH
                .iter()
                .map(|&d| {
                    let dir = |f: &dyn Fn(&RunDirection) -> f64| {
                        Stat::of(
                            runs.iter()
                                .filter_map(|r| r.directions.iter().find(|x| x.direction == d))
                                .map(f),
                        )
                    };
                    let full = |f: &dyn Fn(&crate::search::DirectionResult) -> f64| {
                        Stat::of(runs.iter().filter_map(|r| r.full_load.direction(d)).map(f))
                    };
                    DirectionPoint {
                        direction: d,
                        ndr_mpps: dir(&|x| x.ndr_pps / 1e6),
                        pdr_mpps: dir(&|x| x.pdr_pps / 1e6),
                        pdr_loss: dir(&|x| x.pdr_loss),
                        full_load_mpps: full(&|x| x.offered_pps / 1e6),
                        full_load_loss: full(&|x| x.loss_ratio()),
                        latency: latency_points(
                            runs.iter().flat_map(|r| r.latency.iter()).flat_map(|l| {
                                l.directions
                                    .iter()
                                    .filter(move |x| x.direction == d)
                                    .map(move |x| (l.load_pct, &x.latency))
                            }),
                        ),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Point {
            ndr_mpps: m(&|r| r.ndr_pps / 1e6),
            pdr_mpps: m(&|r| r.pdr_pps / 1e6),
            ndr_gbps: m(&|r| r.ndr_pps * frame_bytes * 8.0 / 1e9),
            full_load_mpps: m(&|r| r.full_load.offered_pps / 1e6),
            full_load_loss: m(&|r| r.full_load.loss_ratio()),
            size,
            frame_bytes,
            latency,
            directions,
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

impl DeviceReport {
    /// Every trial of every run (100 % load, search, latency).
    fn trials(&self) -> impl Iterator<Item = &TrialResult> {
        self.points.iter().flat_map(|p| &p.runs).flat_map(|r| {
            std::iter::once(&r.full_load)
                .chain(&r.trials)
                .chain(r.latency.iter().map(|l| &l.trial))
        })
    }

    /// What the workers' stalls did to the trials, if they stalled: a
    /// line for the table (see [`crate::stalls`]).
    pub fn stall_line(&self, excused: bool) -> Option<String> {
        let (mut trials, mut hit, mut frames, mut longest) = (0, 0, 0u64, 0f64);
        let (mut stalls, mut off_cpu, mut share) = (0u64, 0u64, 0f64);
        for t in self.trials() {
            trials += 1;
            if t.stalled_loss > 0 {
                hit += 1;
                frames += t.stalled_loss;
            }
            longest = longest.max(t.longest_stall_us);
            stalls += u64::from(t.stalls);
            off_cpu += u64::from(t.off_cpu_stalls);
            share = share.max(t.stalled_share);
        }
        if stalls == 0 {
            return None;
        }
        let mut line = format!(
            "  worker stalls (no poll for > 50 µs): {stalls} in {trials} trials, {off_cpu} of them off the CPU; longest {:.2} ms, at most {:.2} % of a trial\n  {hit} trials lost frames to them ({frames} in all)",
            longest / 1e3,
            share * 100.0
        );
        line += if excused {
            "; NDR and PDR above do not count those (--excuse-stalls)"
        } else if hit > 0 {
            "; NDR and PDR above count them (strict); --excuse-stalls would not"
        } else {
            ""
        };
        Some(line)
    }
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

/// One maximum-rate run: a device forwarding as fast as the vdevs deliver
/// (DPDK scenarios: the offered rate cannot be set, so there is no
/// NDR/PDR search).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxRateRun {
    /// Packets transmitted per second, summed over the ports (=
    /// forwarded).
    pub tx_pps: f64,
    /// Packets received per second, summed over the ports.
    pub rx_pps: f64,
    /// Seconds measured (after the warm-up).
    pub secs: f64,
}

/// Maximum rate at one frame size, over the runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxRatePoint {
    /// Frame size label.
    pub size: String,
    /// Mean frame size in bytes, FCS included.
    pub frame_bytes: f64,
    /// Forwarded (transmitted) Mpps.
    pub mpps: Stat,
    /// Received Mpps.
    pub rx_mpps: Stat,
    /// Every run.
    pub runs: Vec<MaxRateRun>,
}

impl MaxRatePoint {
    /// Summarize `runs`.
    pub fn from_runs(size: String, frame_bytes: f64, runs: Vec<MaxRateRun>) -> MaxRatePoint {
        MaxRatePoint {
            size,
            frame_bytes,
            mpps: Stat::of(runs.iter().map(|r| r.tx_pps / 1e6)),
            rx_mpps: Stat::of(runs.iter().map(|r| r.rx_pps / 1e6)),
            runs,
        }
    }
}

/// A device measured at its maximum rate (weir or testpmd on DPDK vdevs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxRateDevice {
    /// `weir` or `testpmd`.
    pub name: String,
    /// What it is.
    pub description: String,
    /// One point per frame size.
    pub points: Vec<MaxRatePoint>,
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
    /// DPDK scenarios: maximum rates, weir first, then baselines.
    #[serde(default)]
    pub max_rate: Vec<MaxRateDevice>,
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
        let div = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        if let Some((dut, bases)) = self.max_rate.split_first() {
            for b in bases {
                for p in &dut.points {
                    if let Some(q) = b.points.iter().find(|q| q.size == p.size) {
                        self.ratios.push(Ratio {
                            baseline: b.name.clone(),
                            basis: "max_rate".into(),
                            size: p.size.clone(),
                            ndr: div(p.mpps.median, q.mpps.median),
                            pdr: None,
                        });
                    }
                }
            }
        }
        let Some((dut, bases)) = self.devices.split_first() else {
            return;
        };
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
        if let Some([first, last]) = s.core_round_trip_ns {
            let _ = writeln!(
                o,
                "  tester-worker cache-line round trip: {first:.0} ns before, {last:.0} ns after"
            );
        }
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
            if d.points.iter().any(|p| !p.directions.is_empty()) {
                let _ = writeln!(
                    o,
                    "  two-way: the rows above are totals; each direction (medians of runs):"
                );
                let _ = writeln!(
                    o,
                    "  {:>5}  {:>9}  {:>9}  {:>9}  {:>9}  {:>15}  {:>9}",
                    "size",
                    "direction",
                    "NDR Mpps",
                    "PDR Mpps",
                    "loss@PDR",
                    "100% load Mpps",
                    "loss@100%"
                );
                for p in &d.points {
                    for x in &p.directions {
                        let _ = writeln!(
                            o,
                            "  {:>5}  {:>9}  {:>9.3}  {:>9.3}  {:>8.3}%  {:>15.3}  {:>8.3}%",
                            p.size,
                            x.direction.as_str(),
                            x.ndr_mpps.median,
                            x.pdr_mpps.median,
                            x.pdr_loss.median * 100.0,
                            x.full_load_mpps.median,
                            x.full_load_loss.median * 100.0
                        );
                    }
                }
            }
            if let Some(line) = d.stall_line(self.settings.excuse_stalls) {
                let _ = writeln!(o, "{line}");
            }
            let any_lat = d.points.iter().any(|p| !p.latency.is_empty());
            if any_lat {
                let _ = writeln!(
                    o,
                    "  latency (µs, median of runs)  {:>5}  {:>5}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
                    "size", "load", "p50", "p90", "p99", "p99.9", "max"
                );
                for p in &d.points {
                    let rows = std::iter::once(("", &p.latency)).chain(
                        p.directions
                            .iter()
                            .map(|x| (x.direction.as_str(), &x.latency)),
                    );
                    for (dir, lat) in rows {
                        for l in lat {
                            let _ = writeln!(
                                o,
                                "  {:>29}  {:>5}  {:>4}%  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}",
                                dir,
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
        }
        for d in &self.max_rate {
            let _ = writeln!(o, "\n{} — {}", d.name, d.description);
            let _ = writeln!(
                o,
                "  {:>5}  {:>26}  {:>26}  {:>8}",
                "size", "max rate Mpps med [min-max]", "rx Mpps med [min-max]", "Gb/s"
            );
            for p in &d.points {
                let _ = writeln!(
                    o,
                    "  {:>5}  {:>26}  {:>26}  {:>8.2}",
                    p.size,
                    st(&p.mpps, 1.0, 3),
                    st(&p.rx_mpps, 1.0, 3),
                    p.mpps.median * p.frame_bytes * 8.0 / 1e3
                );
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
                let _ = if r.basis == "ndr_pdr" {
                    writeln!(
                        o,
                        "  {:>9}  {:>10}  {:>5}  NDR {:>6}  PDR {:>6}",
                        r.baseline,
                        r.basis,
                        r.size,
                        f(r.ndr),
                        f(r.pdr)
                    )
                } else {
                    writeln!(
                        o,
                        "  {:>9}  {:>10}  {:>5}  max rate {:>6}",
                        r.baseline,
                        r.basis,
                        r.size,
                        f(r.ndr)
                    )
                };
            }
        }
        for s in &self.skipped {
            let _ = writeln!(o, "skipped: {s}");
        }
        o
    }
}

/// One figure (a median) in two reports of the same point.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What it is: `weir 64 NDR`, `inline 64`, `testpmd 64 max`...
    pub figure: String,
    /// Median in the first report, Mpps.
    pub a: f64,
    /// Median in the second report, Mpps.
    pub b: f64,
}

impl Comparison {
    /// `b / a - 1` (`None` when `a` is 0).
    pub fn diff(&self) -> Option<f64> {
        (self.a > 0.0).then(|| self.b / self.a - 1.0)
    }
}

/// The medians two reports of the same scenario share (the repeatability
/// check: the target is |diff| ≤ 5 % between two invocations).
pub fn compare(a: &Report, b: &Report) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mut push = |figure: String, x: f64, y: f64| out.push(Comparison { figure, a: x, b: y });
    for d in &a.devices {
        let Some(e) = b.devices.iter().find(|e| e.name == d.name) else {
            continue;
        };
        for p in &d.points {
            if let Some(q) = e.points.iter().find(|q| q.size == p.size) {
                push(
                    format!("{} {} NDR", d.name, p.size),
                    p.ndr_mpps.median,
                    q.ndr_mpps.median,
                );
                push(
                    format!("{} {} PDR", d.name, p.size),
                    p.pdr_mpps.median,
                    q.pdr_mpps.median,
                );
            }
        }
    }
    for p in &a.inline {
        if let Some(q) = b.inline.iter().find(|q| q.size == p.size) {
            push(
                format!("weir inline {} max", p.size),
                p.mpps.median,
                q.mpps.median,
            );
        }
    }
    for d in &a.max_rate {
        let Some(e) = b.max_rate.iter().find(|e| e.name == d.name) else {
            continue;
        };
        for p in &d.points {
            if let Some(q) = e.points.iter().find(|q| q.size == p.size) {
                push(
                    format!("{} {} max", d.name, p.size),
                    p.mpps.median,
                    q.mpps.median,
                );
            }
        }
    }
    out
}

/// The comparison as a table; figures whose |diff| exceeds `tolerance`
/// (a fraction) are marked.
pub fn comparison_table(c: &[Comparison], tolerance: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "  {:<26}  {:>10}  {:>10}  {:>8}",
        "figure (median, Mpps)", "first", "second", "diff"
    );
    for x in c {
        let (d, flag) = match x.diff() {
            Some(d) => (
                format!("{:+.1}%", d * 100.0),
                if d.abs() > tolerance {
                    "  > ±tolerance"
                } else {
                    ""
                },
            ),
            None => ("-".into(), ""),
        };
        let _ = writeln!(
            o,
            "  {:<26}  {:>10.3}  {:>10.3}  {:>8}{flag}",
            x.figure, x.a, x.b, d
        );
    }
    let within = c
        .iter()
        .filter_map(Comparison::diff)
        .filter(|d| d.abs() <= tolerance)
        .count();
    let all = c.iter().filter_map(Comparison::diff).count();
    let _ = writeln!(
        o,
        "  {within} of {all} figures within ±{:.1}%",
        tolerance * 100.0
    );
    o
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
                ..TrialResult::default()
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
                directions: vec![],
            }],
            directions: vec![],
        }
    }

    /// A two-way run: `ndr` in total, the reverse direction losing
    /// `rev_lost` of its 500 frames at full load.
    fn two_way_run(ndr: f64, rev_lost: u64) -> Run {
        use crate::search::DirectionResult;
        let mut r = run(ndr, rev_lost);
        let d = |direction, lost| DirectionResult {
            direction,
            offered_pps: 1e6,
            sent: 500,
            received: 500 - lost,
        };
        r.full_load.directions = Some([d(Direction::Forward, 0), d(Direction::Reverse, rev_lost)]);
        r.directions = Direction::BOTH
            .iter()
            .map(|&direction| RunDirection {
                direction,
                ndr_pps: ndr / 2.0,
                pdr_pps: ndr * 1.1 / 2.0,
                pdr_loss: if direction == Direction::Reverse {
                    0.004
                } else {
                    0.0
                },
            })
            .collect();
        let lat = |p50| LatencySummary {
            count: 3,
            p50_ns: p50,
            ..LatencySummary::default()
        };
        r.latency[0].directions = vec![
            DirectionLatency {
                direction: Direction::Forward,
                latency: lat(1000),
            },
            DirectionLatency {
                direction: Direction::Reverse,
                latency: lat(3000),
            },
        ];
        r
    }

    #[test]
    fn two_way_points_keep_each_direction_and_one_way_json_is_unchanged() {
        let p = Point::from_runs(
            "64".into(),
            64.0,
            vec![
                two_way_run(2e6, 0),
                two_way_run(4e6, 10),
                two_way_run(6e6, 20),
            ],
        );
        assert_eq!(p.ndr_mpps.median, 4.0, "the total");
        assert_eq!(p.directions.len(), 2);
        let (f, r) = (&p.directions[0], &p.directions[1]);
        assert_eq!(
            (f.direction, r.direction),
            (Direction::Forward, Direction::Reverse)
        );
        assert_eq!(f.ndr_mpps.median, 2.0);
        assert_eq!(f.full_load_loss.max, 0.0);
        assert_eq!(r.full_load_loss.max, 0.04);
        assert_eq!(r.pdr_loss.median, 0.004);
        assert_eq!(f.latency[0].p50_ns.median, 1000.0);
        assert_eq!(r.latency[0].p50_ns.median, 3000.0);
        let report = Report {
            settings: Settings {
                bidirectional: true,
                ..Settings::default()
            },
            devices: vec![DeviceReport {
                name: "weir".into(),
                points: vec![p],
                ..DeviceReport::default()
            }],
            ..Report::default()
        };
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        for path in [
            "/settings/bidirectional",
            "/devices/0/points/0/directions/1/direction",
            "/devices/0/points/0/directions/1/ndr_mpps/median",
            "/devices/0/points/0/directions/1/full_load_loss/max",
            "/devices/0/points/0/directions/1/latency/0/p50_ns/median",
            "/devices/0/points/0/runs/0/directions/0/ndr_pps",
            "/devices/0/points/0/runs/0/full_load/directions/1/received",
            "/devices/0/points/0/runs/0/latency/0/directions/1/latency/p50_ns",
        ] {
            assert!(v.pointer(path).is_some(), "missing {path}");
        }
        assert_eq!(
            v["devices"][0]["points"][0]["directions"][1]["direction"],
            "reverse"
        );
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
        let t = report.table();
        assert!(t.contains("two-way") && t.contains("reverse"), "{t}");
        assert!(
            t.contains("2.000%"),
            "reverse loss at full load (median): {t}"
        );

        // One way: none of the two-way fields appear.
        let one = Point::from_runs("64".into(), 64.0, vec![run(1e6, 0)]);
        assert!(one.directions.is_empty());
        let v = serde_json::to_value(Report {
            devices: vec![DeviceReport {
                points: vec![one],
                ..DeviceReport::default()
            }],
            ..Report::default()
        })
        .unwrap();
        let text = v.to_string();
        assert!(
            !text.contains("directions") && !text.contains("bidirectional"),
            "{text}"
        );
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

    fn max_dev(name: &str, pps: &[f64]) -> MaxRateDevice {
        MaxRateDevice {
            name: name.into(),
            description: String::new(),
            points: vec![MaxRatePoint::from_runs(
                "64".into(),
                64.0,
                pps.iter()
                    .map(|&p| MaxRateRun {
                        tx_pps: p,
                        rx_pps: p,
                        secs: 2.0,
                    })
                    .collect(),
            )],
        }
    }

    #[test]
    fn max_rate_ratios_and_comparisons() {
        let mut r = Report {
            max_rate: vec![
                max_dev("weir", &[20e6, 21e6, 22e6]),
                max_dev("testpmd", &[40e6, 42e6, 44e6]),
            ],
            ..Report::default()
        };
        r.compute_ratios();
        assert_eq!(r.ratios.len(), 1);
        assert_eq!(r.ratios[0].basis, "max_rate");
        assert!((r.ratios[0].ndr.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(r.ratios[0].pdr, None);
        assert!(r.table().contains("max rate Mpps"));
        // Old reports (no max_rate) still parse.
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("max_rate");
        let back: Report = serde_json::from_value(old).unwrap();
        assert!(back.max_rate.is_empty());

        let mut s = r.clone();
        s.max_rate[0] = max_dev("weir", &[22.0e6]);
        s.inline = vec![InlinePoint {
            size: "64".into(),
            mpps: Stat::of([30.0]),
        }];
        let c = compare(&r, &s);
        assert_eq!(c.len(), 2, "{c:?}: inline is only in the second");
        assert_eq!(c[0].figure, "weir 64 max");
        assert!((c[0].diff().unwrap() - 1.0 / 21.0).abs() < 1e-9);
        assert_eq!(c[1].diff(), Some(0.0));
        let t = comparison_table(&c, 0.05);
        assert!(
            t.contains("+4.8%") && t.contains("2 of 2 figures within ±5.0%"),
            "{t}"
        );
        let t = comparison_table(&c, 0.01);
        assert!(t.contains("> ±tolerance") && t.contains("1 of 2"), "{t}");
    }
}
